using Microsoft.Extensions.Logging.Abstractions;
using RnnCluster.Data;
using RnnCluster.Monitoring;
using RnnCluster.Parallel;
using RnnCluster.Tests.Parallel;
using RnnCluster.Tests.Support;
using RnnCluster.Training;
using RnnCluster.Training.Parallel;

namespace RnnCluster.Tests.Monitoring;

public sealed class ParallelMonitorTests
{
    [Fact]
    public async Task A_worker_that_keeps_failing_shows_restarts_then_lost_and_its_streams_move_to_the_survivor()
    {
        using var dir = new TempDirectory();
        var settings = ParallelRuns.Settings(2, "parallel.max-worker-failures=2");
        var corpus = CorpusLoader.Load(settings.Data.Path, TrainingSetup.Corpus(settings.Data));
        var monitor = new RunMonitor(dir.Path, "parallel", "language-model", TimeProvider.System);
        var services = new TrainerServices(TimeProvider.System, NullLoggerFactory.Instance, monitor);
        // Worker 1 throws at every step from step 3 on: restarted once, then stopped for good.
        var trainer = new ParallelTrainer(settings, corpus, dir.Path, services) { Monitor = monitor, WorkerFaults = new WorkerFaults().From(1, 3, WorkerFaultKind.Throw) };

        var summary = await trainer.RunAsync(CancellationToken.None);
        monitor.Finished();

        Assert.Equal(20, summary.Steps);
        var snapshot = monitor.Snapshot();
        Assert.Equal(Enumerable.Range(1, 20).Select(s => (long)s), snapshot.Train.Steps);
        Assert.Equal(
            [
                (MemberStates.Coordinator, 0, "local/coordinator", MemberStates.Up, 1L, (double?)null),
                (MemberStates.Worker, 0, "local/worker-0", MemberStates.Up, 1L, 1.0),
                (MemberStates.Worker, 1, "local/worker-1", MemberStates.Lost, 2L, 0.5),
            ],
            snapshot.Members.Select(m => (m.Role, m.Index, m.Address, m.State, m.Incarnation, m.StreamShare)));
        var kinds = snapshot.Events.Select(e => (e.Kind, e.Text)).ToArray();
        Assert.Contains(kinds, e => e.Kind == RunEventKinds.Failure && e.Text.StartsWith("worker 1 failed at step 3 and was restarted", StringComparison.Ordinal));
        Assert.Contains(kinds, e => e == (RunEventKinds.Failure, "worker 1 stopped; 1 remain"));
        Assert.Contains(kinds, e => e.Kind == RunEventKinds.Generation && e.Text.EndsWith(": worker 1 stopped", StringComparison.Ordinal));
        Assert.Contains(kinds, e => e == (RunEventKinds.Member, "worker 1 (local/worker-1): up -> lost"));
        Assert.True(snapshot.Generation > 0);
    }
}
