using RnnCluster.Tests.Parallel;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Training.Tasks;

/// <summary>Task batches through the coordinator/worker path: W workers = one replica on the same batches.</summary>
public sealed class TaskParallelTests
{
    // Plain SGD: Adam would divide the last bits of float rounding by tiny second moments.
    internal static readonly string[] Sgd = ["training.optimizer=sgd", "training.learning-rate=0.5", "model.hidden-size=16", "model.embedding-size=16", "data.builtin.sentences=600"];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task An_acceptor_on_W_workers_gets_the_parameters_of_the_single_replica_trainer_on_variable_length_batches(int workers)
    {
        using var dir = new TempDirectory();
        string[] settings = [.. Sgd, "model.pooling=mean", "training.max-steps=15", "training.epochs=1"];
        var reference = await TaskRuns.RunAsync(TaskRuns.Settings("builtin:agreement-number", 0, settings), dir.Combine("single"));
        var parallel = await TaskRuns.RunAsync(TaskRuns.Settings("builtin:agreement-number", workers, settings), dir.Combine("parallel"));

        Assert.Equal(15, parallel.Summary.Steps);
        Assert.Equal(reference.Summary.TokensTrained, parallel.Summary.TokensTrained);
        var relative = ParallelRuns.RelativeDifference(parallel.Parameters, reference.Parameters);
        Assert.True(relative <= 1e-5, $"W={workers}: relative parameter difference {relative:E2}");
    }

    [Fact]
    public async Task Over_an_epoch_every_training_example_is_counted_once_even_when_the_last_batch_is_smaller_than_the_workers()
    {
        using var dir = new TempDirectory();
        // 600 examples in batches of 32: the last batch has 24 rows; with 25 workers some sit out every step... and 24 < 25.
        var outcome = await TaskRuns.RunAsync(TaskRuns.Settings("builtin:agreement-number", 25, [.. Sgd, "training.epochs=1"]), dir.Path);

        Assert.Equal(600, outcome.Summary.TokensTrained);
        Assert.Equal(19, outcome.Summary.Steps);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public async Task A_run_resumed_mid_epoch_repeats_the_uninterrupted_one_across_the_epoch_end(int workers)
    {
        using var dir = new TempDirectory();
        // 600 examples in batches of 32: 19 batches an epoch, so steps 13..25 cross the first epoch's end.
        string[] run = [.. Sgd, "training.epochs=2", "checkpoint.every-steps=6", "model.dropout.embedding=0.2"];
        var whole = await TaskRuns.RunAsync(TaskRuns.Settings("builtin:tagging", workers, [.. run, "training.max-steps=25"]), dir.Combine("whole"));
        await TaskRuns.RunAsync(TaskRuns.Settings("builtin:tagging", workers, [.. run, "training.max-steps=12"]), dir.Combine("first"));
        var resumed = await TaskRuns.RunAsync(TaskRuns.Settings("builtin:tagging", workers, [.. run, "training.max-steps=25"]), dir.Combine("first"), resumeFrom: dir.Combine("first"));

        Assert.Equal(25, resumed.Summary.Steps);
        Assert.Equal(whole.Summary.TokensTrained, resumed.Summary.TokensTrained);
        Assert.Equal(whole.Parameters, resumed.Parameters);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public async Task A_task_run_resumed_at_its_max_steps_trains_no_step_and_keeps_its_train_loss(int workers)
    {
        using var dir = new TempDirectory();
        string[] run = [.. Sgd, "training.max-steps=7"];
        var first = await TaskRuns.RunAsync(TaskRuns.Settings("builtin:tagging", workers, run), dir.Combine("run"));
        var again = await TaskRuns.RunAsync(TaskRuns.Settings("builtin:tagging", workers, run), dir.Combine("run"), resumeFrom: dir.Combine("run"));

        Assert.Equal(7, again.Summary.Steps);
        Assert.Equal("max-steps", again.Summary.StoppedBy);
        Assert.Equal(first.Summary.TokensTrained, again.Summary.TokensTrained);
        Assert.Equal(first.Parameters, again.Parameters);
        Assert.True(double.IsFinite(first.Summary.TrainLoss), $"train loss {first.Summary.TrainLoss}");
        Assert.Equal(first.Summary.TrainLoss, again.Summary.TrainLoss);
    }

    [Fact]
    public async Task A_transducer_and_an_encoder_decoder_match_the_single_replica_trainer_on_two_workers()
    {
        using var dir = new TempDirectory();
        foreach (var data in new[] { "builtin:tagging", "builtin:reverse" })
        {
            string[] settings = [.. Sgd, "training.max-steps=8", "training.epochs=1"];
            var reference = await TaskRuns.RunAsync(TaskRuns.Settings(data, 0, settings), dir.Combine(data[8..], "single"));
            var parallel = await TaskRuns.RunAsync(TaskRuns.Settings(data, 2, settings), dir.Combine(data[8..], "parallel"));

            Assert.Equal(reference.Summary.TokensTrained, parallel.Summary.TokensTrained);
            var relative = ParallelRuns.RelativeDifference(parallel.Parameters, reference.Parameters);
            Assert.True(relative <= 1e-5, $"{data}: relative parameter difference {relative:E2}");
        }
    }

    [Fact]
    public async Task A_checkpoint_interval_that_lands_on_an_epoch_end_writes_that_step_once()
    {
        // every-steps = 1 lands on every epoch end, which checkpoints the same step again (validated).
        using var dir = new TempDirectory();
        var run = await TaskRuns.RunAsync(TaskRuns.Settings("builtin:agreement-number", 0, "data.builtin.sentences=300", "training.epochs=2", "checkpoint.every-steps=1"), dir.Path);
        Assert.Equal("epochs", run.Summary.StoppedBy);
        Assert.Equal(2, run.Summary.Epochs);
    }

    [Fact]
    public async Task A_run_stopped_by_max_steps_at_an_epoch_end_counts_that_epoch()
    {
        using var dir = new TempDirectory();
        var oneEpoch = await TaskRuns.RunAsync(TaskRuns.Settings("builtin:agreement-number", 0, "data.builtin.sentences=300", "training.epochs=1"), dir.Combine("one-epoch"));
        var stepsPerEpoch = oneEpoch.Summary.Steps;

        var run = await TaskRuns.RunAsync(TaskRuns.Settings("builtin:agreement-number", 0, "data.builtin.sentences=300", "training.epochs=3", $"training.max-steps={stepsPerEpoch}"), dir.Combine("run"));
        Assert.Equal("max-steps", run.Summary.StoppedBy);
        Assert.Equal(1, run.Summary.Epochs);
    }
}
