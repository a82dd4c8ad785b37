using RnnCluster.Tests.Support;
using RnnCluster.Parallel;
using RnnCluster.Training;
using RnnCluster.Training.Parallel;

namespace RnnCluster.Tests.Parallel;

/// <summary>The central claims of data parallelism: W workers = one replica on the same global batch; failures are transparent.</summary>
public sealed class DataParallelTests
{
    private const int WorkerStopped = 2103;
    private const int StaleGradients = 2101;
    private const int Straggler = 2104;
    private const int CoordinatorRestarting = 2105;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public async Task W_workers_give_the_parameters_of_the_single_replica_trainer_after_20_steps(int workers)
    {
        using var dir = new TempDirectory();
        var reference = await ParallelRuns.RunAsync(ParallelRuns.Settings(0), dir.Combine("single"));
        var parallel = await ParallelRuns.RunAsync(ParallelRuns.Settings(workers), dir.Combine("parallel"));

        Assert.Equal(20, parallel.Summary.Steps);
        Assert.Equal(reference.Summary.TokensTrained, parallel.Summary.TokensTrained);
        var relative = ParallelRuns.RelativeDifference(parallel.Parameters, reference.Parameters);
        Assert.True(relative <= 1e-5, $"W={workers}: relative parameter difference {relative:E2}");
    }

    [Fact]
    public async Task Over_an_epoch_the_tokens_trained_equal_the_corpus_tokens_with_and_without_worker_failures()
    {
        using var dir = new TempDirectory();
        var clean = await ParallelRuns.RunAsync(ParallelRuns.Settings(2, "training.max-steps=0", "training.epochs=1"), dir.Combine("clean"));
        var faults = new WorkerFaults().At(1, 3, WorkerFaultKind.Throw).At(0, 5, WorkerFaultKind.NaNGradient).At(1, 9, WorkerFaultKind.Throw, times: 2);
        var failing = await ParallelRuns.RunAsync(ParallelRuns.Settings(2, "training.max-steps=0", "training.epochs=1"), dir.Combine("failing"), faults);

        Assert.Equal(clean.EpochTokens, clean.Summary.TokensTrained);
        Assert.Equal(clean.EpochTokens, failing.Summary.TokensTrained);
        Assert.Equal(clean.Summary.Steps, failing.Summary.Steps);
    }

    [Fact]
    public async Task An_exception_and_a_NaN_gradient_are_retried_and_the_run_follows_the_unfailed_one()
    {
        using var dir = new TempDirectory();
        var clean = await ParallelRuns.RunAsync(ParallelRuns.Settings(2), dir.Combine("clean"));
        var faults = new WorkerFaults().At(1, 4, WorkerFaultKind.Throw).At(0, 7, WorkerFaultKind.NaNGradient);
        var failing = await ParallelRuns.RunAsync(ParallelRuns.Settings(2), dir.Combine("failing"), faults);

        Assert.Equal(20, failing.Summary.Steps);
        var relative = ParallelRuns.RelativeDifference(failing.Parameters, clean.Parameters);
        Assert.True(relative <= 1e-4, $"relative parameter difference {relative:E2}");
        Assert.Equal(0, failing.Count(WorkerStopped));
    }

    [Fact]
    public async Task A_worker_that_keeps_failing_is_stopped_and_its_streams_move_to_the_others_without_losing_a_window()
    {
        using var dir = new TempDirectory();
        var clean = await ParallelRuns.RunAsync(ParallelRuns.Settings(2), dir.Combine("clean"));
        var faults = new WorkerFaults().From(1, 6, WorkerFaultKind.Throw);
        var failing = await ParallelRuns.RunAsync(ParallelRuns.Settings(2), dir.Combine("failing"), faults);

        Assert.Equal(1, failing.Count(WorkerStopped));
        Assert.Equal(20, failing.Summary.Steps);
        Assert.Equal(clean.Summary.TokensTrained, failing.Summary.TokensTrained);
        var relative = ParallelRuns.RelativeDifference(failing.Parameters, clean.Parameters);
        Assert.True(relative <= 1e-4, $"relative parameter difference {relative:E2}");
    }

    [Fact]
    public async Task When_every_worker_is_stopped_the_run_aborts_with_a_reason_and_keeps_its_checkpoints()
    {
        using var dir = new TempDirectory();
        var faults = new WorkerFaults().From(0, 4, WorkerFaultKind.Throw).From(1, 4, WorkerFaultKind.Throw);
        var e = await Assert.ThrowsAsync<TrainingAbortedException>(() =>
            ParallelRuns.RunAsync(ParallelRuns.Settings(2, "checkpoint.every-steps=2"), dir.Combine("run"), faults));
        Assert.Contains("every worker was stopped", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, RnnCluster.Model.Checkpoints.CheckpointReader.Load(dir.Combine("run")).TrainerState.Step);
    }

    [Fact]
    public async Task A_failed_coordinator_restarts_from_the_newest_checkpoint_and_repeats_the_unfailed_run()
    {
        using var dir = new TempDirectory();
        var clean = await ParallelRuns.RunAsync(ParallelRuns.Settings(2, "checkpoint.every-steps=5"), dir.Combine("clean"));
        var failing = await ParallelRuns.RunAsync(ParallelRuns.Settings(2, "checkpoint.every-steps=5"), dir.Combine("failing"), coordinatorFailsBeforeStep: 13);

        Assert.Equal(1, failing.Count(CoordinatorRestarting));
        Assert.Equal(20, failing.Summary.Steps);
        // Resumed at step 10: steps 11 and 12 were recomputed (lost work <= checkpoint interval), exactly.
        var relative = ParallelRuns.RelativeDifference(failing.Parameters, clean.Parameters);
        Assert.True(relative <= 1e-6, $"relative parameter difference {relative:E2}");
    }

    [Fact]
    public async Task With_the_wait_policy_a_missed_deadline_is_logged_and_the_step_stays_exact()
    {
        using var dir = new TempDirectory();
        var clean = await ParallelRuns.RunAsync(ParallelRuns.Settings(2), dir.Combine("clean"));

        // Worker 1 stalls at step 3 until the coordinator has logged the missed deadline: the
        // deadline provably passed, and "wait" must still apply the step exactly.
        var faults = new WorkerFaults().At(1, 3, WorkerFaultKind.Stall);
        using var logs = new CapturingLoggerProvider();
        // Released only by step 3's straggler line: a slow step 1 or 2 (a loaded machine) must not let the stall pass unseen.
        var release = logs.WaitForAsync(Straggler, "Step 3 passed its deadline", TimeSpan.FromMinutes(1)).ContinueWith(_ => faults.ReleaseStalled(), TaskScheduler.Default);
        var waiting = await ParallelRuns.RunAsync(ParallelRuns.Settings(2, "parallel.step-deadline=50ms"), dir.Combine("waiting"), faults, logs: logs);
        await release;

        Assert.Contains(waiting.Logs, l => l.EventId.Id == Straggler && l.Message.StartsWith("Step 3 passed its deadline", StringComparison.Ordinal));
        Assert.Equal(20, waiting.Summary.Steps);
        Assert.Equal(clean.Summary.TokensTrained, waiting.Summary.TokensTrained);
        Assert.True(ParallelRuns.RelativeDifference(waiting.Parameters, clean.Parameters) <= 1e-6);
    }

    [Fact]
    public async Task With_the_drop_policy_a_silent_worker_is_dropped_and_its_late_reply_is_refused()
    {
        using var dir = new TempDirectory();
        var faults = new WorkerFaults().At(1, 3, WorkerFaultKind.ReplyLate);
        // The held reply is late whatever the deadline (it leaves only after the next window), so the
        // deadline can be long enough that no healthy step of a loaded machine misses it.
        var run = await ParallelRuns.RunAsync(ParallelRuns.Settings(2, "parallel.step-deadline=3s", "parallel.straggler-policy=drop"), dir.Combine("run"), faults);

        Assert.Equal(20, run.Summary.Steps);
        Assert.Contains(run.Logs, l => l.EventId.Id == Straggler && l.Message.StartsWith("Step 3 passed its deadline", StringComparison.Ordinal));
        Assert.Single(run.Logs, l => l.EventId.Id == StaleGradients && l.Message.StartsWith("Refused gradients of worker 1 for step 3 ", StringComparison.Ordinal));
        var full = await ParallelRuns.RunAsync(ParallelRuns.Settings(0), dir.Combine("single"));
        Assert.True(run.Summary.TokensTrained < full.Summary.TokensTrained, "the dropped shard's window is not counted");
    }
}
