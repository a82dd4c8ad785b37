using Akka.Actor;
using Akka.TestKit;
using Microsoft.Extensions.Logging;
using RnnCluster.Parallel;
using RnnCluster.Tests.Support;
using RnnCluster.Training.Parallel;
using Xunit.Abstractions;

namespace RnnCluster.Tests.Parallel;

/// <summary>The coordinator on Akka.NET, on virtual time: deadlines, retries of lost replies, re-planning.</summary>
public sealed class CoordinatorActorSpecs(ITestOutputHelper output)
    : Akka.TestKit.Xunit2.TestKit("akka.scheduler.implementation = \"Akka.TestKit.TestScheduler, Akka.TestKit\"", output: output)
{
    private const int StaleGradients = 2101;
    private const int WorkerStopped = 2103;
    private const int Straggler = 2104;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Under_the_wait_policy_a_lost_reply_is_retried_at_the_deadline_and_the_run_ends_as_the_unfailed_one()
    {
        using var dir = new Support.TempDirectory();
        var clean = await ParallelRuns.RunAsync(ParallelRuns.Settings(2, "training.max-steps=6"), dir.Combine("clean"));
        using var run = new SpecLoop("training.max-steps=6", "parallel.step-deadline=10s", "parallel.straggler-policy=wait");
        using var logs = new CapturingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        var faults = new WorkerFaults().At(1, 3, WorkerFaultKind.NoReply);
        var options = Options(run, loggers, faults);

        ChildActorOf(Props.Create(() => new CoordinatorActor(options)));
        // Nothing but the virtual clock ends step 3: its deadline is 10 s of scheduler time away.
        var scheduler = (TestScheduler)Sys.Scheduler;
        await AwaitAssertAsync(
            () =>
            {
                scheduler.Advance(TimeSpan.FromSeconds(10));
                Assert.Contains(logs.Entries, l => l.EventId.Id == Straggler && l.Message.StartsWith("Step 3 passed its deadline", StringComparison.Ordinal));
            },
            Wait,
            TimeSpan.FromMilliseconds(50));

        var finished = await ExpectMsgAsync<TrainingFinished>(Wait);
        Assert.Equal(6, finished.Summary.Steps);
        Assert.Equal(clean.Summary.TokensTrained, finished.Summary.TokensTrained);
        // Advancing the clock may also pass the deadline of a step 1 or 2 still computing: those retries
        // are answered after their step closed and refused as stale, never applied (the parameters show it).
        Assert.All(logs.Entries.Where(l => l.EventId.Id == StaleGradients), l => Assert.DoesNotContain(" attempt 1:", l.Message, StringComparison.Ordinal));
        Assert.Equal(0, logs.Count(WorkerStopped));
        var parameters = RnnCluster.Model.Checkpoints.CheckpointReader.Load(run.RunDirectory).ModelTensors.SelectMany(t => t.ToFloats()).ToArray();
        Assert.True(ParallelRuns.RelativeDifference(parameters, clean.Parameters) <= 1e-6);
    }

    [Fact]
    public async Task A_worker_stopped_mid_step_starts_a_new_generation_and_the_survivor_computes_the_whole_step()
    {
        using var run = new SpecLoop("training.max-steps=4", "parallel.max-worker-failures=1", "parallel.step-deadline=0");
        using var logs = new CapturingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        var faults = new WorkerFaults().From(1, 2, WorkerFaultKind.Throw);

        ChildActorOf(Props.Create(() => new CoordinatorActor(Options(run, loggers, faults))));

        var finished = await ExpectMsgAsync<TrainingFinished>(Wait);
        Assert.Equal(4, finished.Summary.Steps);
        Assert.Equal(1, logs.Count(WorkerStopped));
        Assert.Contains(logs.Entries, l => l.Message.StartsWith("Generation 2: 1 workers, shards w0:[0,8)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task When_its_last_worker_is_stopped_the_coordinator_aborts_and_names_the_setting_and_the_intact_checkpoint()
    {
        using var run = new SpecLoop("training.max-steps=4", "parallel.max-worker-failures=1");
        using var loggers = LoggerFactory.Create(_ => { });
        var faults = new WorkerFaults().From(0, 1, WorkerFaultKind.Throw).From(1, 1, WorkerFaultKind.Throw);

        ChildActorOf(Props.Create(() => new CoordinatorActor(Options(run, loggers, faults))));

        var aborted = await ExpectMsgAsync<TrainingAborted>(Wait);
        Assert.Contains("parallel.max-worker-failures = 1", aborted.Reason, StringComparison.Ordinal);
        Assert.Contains(run.RunDirectory, aborted.Reason, StringComparison.Ordinal);
    }

    private static CoordinatorOptions Options(SpecLoop run, ILoggerFactory loggers, WorkerFaults faults) => new()
    {
        CreateLoop = run.CreateLoop,
        RunDirectory = run.RunDirectory,
        Parallel = run.Settings.Parallel,
        LoggerFactory = loggers,
        Time = TimeProvider.System,
        WorkerFaults = faults,
    };
}
