using Microsoft.Extensions.Logging.Abstractions;
using RnnCluster.Data;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Tests.Checkpoints;
using RnnCluster.Tests.Parallel;
using RnnCluster.Tests.Support;
using RnnCluster.Training;
using RnnCluster.Training.Parallel;
using RnnCluster.Training.Tasks;

namespace RnnCluster.Tests.Training;

/// <summary>
/// What a cluster coordinator sends its workers with every step, and what a coordinator taking over
/// rebuilds from: the run as of the step's parameters. Adopted by a new loop, it continues the run exactly.
/// </summary>
public sealed class RunSnapshotTests
{
    private static readonly string[] AdamWithDropout = ["training.optimizer=adam", "training.learning-rate=0.01", "model.dropout.output=0.3", "training.max-steps=0", "training.epochs=3"];

    [Fact]
    public async Task A_loop_that_adopts_a_snapshot_continues_the_run_bit_for_bit_optimizer_state_and_data_order_included()
    {
        using var dir = new TempDirectory();
        var settings = ParallelRuns.Settings(1, AdamWithDropout);
        var corpus = CorpusLoader.Load(settings.Data.Path, TrainingSetup.Corpus(settings.Data));
        using var original = new TrainingLoop(settings, corpus, dir.Combine("original"), new TrainerServices(TimeProvider.System, NullLoggerFactory.Instance));
        using var replica = new WorkerReplica(new WorkerOptions(0, ((ITrainingLoop)original).MasterOptions, null, TimeProvider.System));
        original.Start();
        for (var i = 0; i < 7; i++)
        {
            await StepAsync(original, replica);
        }

        var parameters = original.Master.ParameterSpan.ToArray();
        var snapshot = original.Snapshot(parameters);
        using var adopted = new TrainingLoop(settings, corpus, dir.Combine("adopted"), new TrainerServices(TimeProvider.System, NullLoggerFactory.Instance));
        adopted.Adopt(snapshot, parameters, "a test snapshot");
        adopted.Start();

        Assert.Equal(7, snapshot.Step);
        Assert.Equal(7, adopted.Step);
        Assert.True(snapshot.Matches(parameters));
        Assert.NotEmpty(snapshot.OptimizerState);
        for (var i = 0; i < 6; i++)
        {
            await StepAsync(original, replica);
            await StepAsync(adopted, replica);
        }

        Assert.Equal(original.Master.ParameterSpan.ToArray(), adopted.Master.ParameterSpan.ToArray());
        Assert.Equal(original.TokensSeen, adopted.TokensSeen);
    }

    [Fact]
    public async Task A_task_loop_that_adopts_a_snapshot_continues_the_run_bit_for_bit()
    {
        using var dir = new TempDirectory();
        var settings = Tasks.TaskRuns.Settings("builtin:agreement-number", 1, "model.dropout.output=0.3");
        var data = TaskSetup.Load(settings.Data, TaskSetup.ResolveKind(settings.Data));
        using var original = new TaskTrainingLoop(settings, data, dir.Combine("original"), new TrainerServices(TimeProvider.System, NullLoggerFactory.Instance));
        using var replica = new WorkerReplica(new WorkerOptions(0, original.MasterOptions, null, TimeProvider.System));
        original.Start();
        for (var i = 0; i < 5; i++)
        {
            await StepAsync(original, replica);
        }

        var parameters = original.Master.ParameterSpan.ToArray();
        using var adopted = new TaskTrainingLoop(settings, data, dir.Combine("adopted"), new TrainerServices(TimeProvider.System, NullLoggerFactory.Instance));
        adopted.Adopt(original.Snapshot(parameters), parameters, "a test snapshot");
        adopted.Start();
        for (var i = 0; i < 4; i++)
        {
            await StepAsync(original, replica);
            await StepAsync(adopted, replica);
        }

        Assert.Equal(9, adopted.Step);
        Assert.Equal(original.Master.ParameterSpan.ToArray(), adopted.Master.ParameterSpan.ToArray());
    }

    [Fact]
    public void A_snapshot_matches_only_the_parameters_it_was_taken_with()
    {
        using var run = new SpecLoop();
        var parameters = run.Loop.Master.ParameterSpan.ToArray();
        var snapshot = run.Loop.Snapshot(parameters);

        parameters[parameters.Length / 2] += 1e-6f;

        Assert.False(snapshot.Matches(parameters));
        Assert.Equal(run.Loop.Fence, snapshot.Fence);
    }

    [Fact]
    public void A_snapshot_of_another_optimizer_is_refused_with_a_message_naming_its_source()
    {
        using var dir = new TempDirectory();
        var adam = ParallelRuns.Settings(1, AdamWithDropout);
        var corpus = CorpusLoader.Load(adam.Data.Path, TrainingSetup.Corpus(adam.Data));
        using var adamLoop = new TrainingLoop(adam, corpus, dir.Combine("adam"), new TrainerServices(TimeProvider.System, NullLoggerFactory.Instance));
        using var sgdLoop = new TrainingLoop(ParallelRuns.Settings(1), corpus, dir.Combine("sgd"), new TrainerServices(TimeProvider.System, NullLoggerFactory.Instance));
        var parameters = adamLoop.Master.ParameterSpan.ToArray();

        var e = Assert.Throws<CheckpointException>(() => sgdLoop.Adopt(adamLoop.Snapshot(parameters), parameters, "worker 3's copy"));

        Assert.Contains("worker 3's copy", e.Message, StringComparison.Ordinal);
        Assert.Contains("optimizer", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_trainer_whose_run_directory_a_newer_one_took_over_commits_no_checkpoint()
    {
        using var dir = new TempDirectory();
        var fence = RunFence.Advance(dir.Path);
        var store = CheckpointStore.Open(dir.Path, new CheckpointStoreOptions { Fence = fence }, new ManualTimeProvider(CheckpointSamples.Now));
        await store.CommitAsync(CheckpointSamples.Content(100), CancellationToken.None);

        // A coordinator that took over (a cluster singleton that moved) took the next number.
        Assert.Equal(fence + 1, RunFence.Advance(dir.Path));
        var e = await Assert.ThrowsAsync<CheckpointException>(() => store.CommitAsync(CheckpointSamples.Content(200), CancellationToken.None));

        Assert.Contains($"holds fence {fence + 1}, this trainer has {fence}", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("step-000000100", CheckpointStore.FindLatest(dir.Path), StringComparison.Ordinal);
        Assert.Equal(fence, CheckpointReader.ReadManifest(CheckpointStore.FindLatest(dir.Path)!).Fence);
    }

    [Fact]
    public void Every_trainer_that_opens_a_run_directory_takes_the_next_fence()
    {
        using var run = new SpecLoop();
        var first = run.CreateLoop(null);
        var fence = first.Fence;
        first.Dispose();

        using var second = run.CreateLoop(null);

        Assert.Equal(fence + 1, second.Fence);
        Assert.Equal(second.Fence, RunFence.Read(run.RunDirectory));
    }

    /// <summary>One step of <paramref name="loop"/> computed by <paramref name="replica"/> as the whole plan.</summary>
    private static async Task StepAsync(ITrainingLoop loop, WorkerReplica replica)
    {
        var step = await loop.NextStepAsync(CancellationToken.None) ?? throw new InvalidOperationException("the run ended");
        var protocol = new StepProtocol(loop.StreamCount);
        protocol.Join(0);
        protocol.TakeJoiners();
        var reply = protocol.Open(step, loop.Master.ParameterSpan.ToArray()).Single().Command switch
        {
            ComputeWindow w => replica.Compute(w).Reply,
            ComputeBatch b => replica.Compute(b).Reply,
            var other => throw new InvalidOperationException($"unexpected command {other}"),
        };
        Assert.Equal(ReplyVerdict.StepComplete, protocol.Accept(reply));
        var closed = protocol.Close(loop.Master.GradientSpan);
        await loop.CompleteStepAsync(closed.Step, closed.LossSum, closed.Tokens);
    }
}
