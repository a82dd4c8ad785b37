using System.Globalization;
using Microsoft.Extensions.Logging;
using RnnCluster.Config;
using RnnCluster.Model.Checkpoints;

namespace RnnCluster.Training;

/// <summary>
/// Commits a training loop's checkpoints in the background, one at a time: the loop copies everything
/// on its own thread (the only pause training takes), and hashing and fsync overlap the next steps.
/// A commit that fails is reported the moment it fails (log, <c>metrics.jsonl</c>, observer); then
/// <c>checkpoint.on-failure</c> decides: <c>stop</c> ends the run at the loop's next step
/// (<see cref="ThrowIfStopped"/>), <c>continue</c> trains on and the next checkpoint tries again.
/// </summary>
internal sealed class CheckpointPipeline(CheckpointStore store, RunDirectoryLock runLock, CheckpointFailurePolicy onFailure, ILogger logger, ITrainingObserver? observer) : IDisposable
{
    private readonly Lock _gate = new();
    private CheckpointFailure? _failure;
    // Written by the background commit, read by the training thread.
    private CheckpointFailure? _stopped;
    private int _failureCount;
    private Task? _pending;

    /// <summary>
    /// Takes the run directory's lock (refused when another trainer writes it) and opens (creating) its
    /// checkpoint store with the run's retention settings.
    /// </summary>
    public static CheckpointPipeline Open(string runDirectory, RnnClusterSettings settings, TrainerServices services, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var hold = TestHold(settings.Cluster);
        var runLock = RunDirectoryLock.Acquire(runDirectory, services.Time);
        try
        {
            // Under the lock: this trainer's number, which its checkpoints and step commands carry.
            var fence = RunFence.Advance(runLock.RunDirectory);
            var checkpoint = settings.Checkpoint;
            var store = CheckpointStore.Open(
                runDirectory,
                new CheckpointStoreOptions { KeepLast = checkpoint.KeepLast, KeepBest = checkpoint.KeepBest, Fence = fence, Hold = hold },
                services.Time,
                services.LoggerFactory.CreateLogger<CheckpointStore>());
            return new CheckpointPipeline(store, runLock, checkpoint.OnFailure, logger, services.Observer) { Fence = fence };
        }
        catch
        {
            runLock.Dispose();
            throw;
        }
    }

    /// <summary>This trainer's <see cref="RunFence"/> number.</summary>
    public long Fence { get; private init; }

    /// <summary>The newest committed checkpoint directory (or the one resumed from).</summary>
    public string? LastCheckpoint { get; set; }

    /// <summary>The step of the newest checkpoint started (committed, failed or in flight); -1 before any.</summary>
    public long LastStep { get; set; } = -1;

    public string? BestDirectory => store.BestDirectory;

    /// <summary>Where failures are recorded as they happen; set once the loop has opened it.</summary>
    public MetricsLog? Metrics { get; set; }

    /// <summary>Commits that failed in this session.</summary>
    public int Failures
    {
        get
        {
            lock (_gate)
            {
                return _failureCount;
            }
        }
    }

    /// <summary>Starts committing <paramref name="content"/>; call <see cref="DrainAsync"/> first so commits never overlap.</summary>
    public void Start(CheckpointContent content)
    {
        LastStep = content.Step;
        _pending = CommitInBackgroundAsync(content);
    }

    /// <summary>
    /// Waits for the commit in flight (its failure was reported when it happened); under <c>stop</c> a
    /// failed commit then ends the run here, so no further checkpoint is started.
    /// </summary>
    /// <exception cref="TrainingAbortedException">A commit failed and the policy is <c>stop</c>.</exception>
    public async Task DrainAsync()
    {
        await WaitAsync().ConfigureAwait(false);
        ThrowIfStopped();
    }

    /// <summary>At the end of the run: as <see cref="DrainAsync"/>, and whatever the policy, a failed last checkpoint fails the run.</summary>
    public async Task DrainFinalAsync(long finalStep)
    {
        await DrainAsync().ConfigureAwait(false);
        ThrowIfFinalFailed(finalStep);
    }

    /// <summary>Waits for a commit in flight without judging it, e.g. when disposing.</summary>
    public void DrainQuietly() => WaitAsync().GetAwaiter().GetResult();

    /// <summary>Under <c>checkpoint.on-failure = stop</c>, ends the run once a commit has failed; the loop calls it before each step.</summary>
    /// <exception cref="TrainingAbortedException">A commit failed.</exception>
    public void ThrowIfStopped()
    {
        CheckpointFailure? stopped;
        lock (_gate)
        {
            stopped = _stopped;
        }

        if (stopped is not null)
        {
            throw new TrainingAbortedException($"{stopped.Describe()} (checkpoint.on-failure = stop); {LastGood()}");
        }
    }

    /// <exception cref="TrainingAbortedException">The commit of <paramref name="finalStep"/> failed.</exception>
    private void ThrowIfFinalFailed(long finalStep)
    {
        CheckpointFailure? failure;
        lock (_gate)
        {
            failure = _failure;
        }

        if (failure is not null && failure.Step == finalStep)
        {
            throw new TrainingAbortedException($"the end-of-run {failure.Describe()}; {LastGood()}");
        }
    }

    /// <summary>Lets a commit in flight finish, then gives the run directory up.</summary>
    public void Dispose()
    {
        DrainQuietly();
        runLock.Dispose();
    }

    /// <summary>Test-only: the commit phase <c>RNNCLUSTER_CHECKPOINT_HOLD</c> names, read only under <c>cluster.test-faults = true</c>.</summary>
    private static CheckpointPhaseHold? TestHold(ClusterSettings cluster)
    {
        if (!cluster.TestFaults || Environment.GetEnvironmentVariable(CheckpointPhaseHold.Variable) is not { Length: > 0 } text)
        {
            return null;
        }

        try
        {
            return CheckpointPhaseHold.Parse(text);
        }
        catch (FormatException e)
        {
            throw new ConfigException($"{CheckpointPhaseHold.Variable} (read because cluster.test-faults = true): {e.Message}");
        }
    }

    private async Task WaitAsync()
    {
        if (_pending is { } pending)
        {
            _pending = null;
            await pending.ConfigureAwait(false);
        }
    }

    private string LastGood() => LastCheckpoint is { } last
        ? $"the last good checkpoint is {last}"
        : $"no checkpoint of this run was written to {store.CheckpointsDirectory}";

    private async Task CommitInBackgroundAsync(CheckpointContent content)
    {
        CommittedCheckpoint committed;
        try
        {
            committed = await Task.Run(() => store.CommitAsync(content, CancellationToken.None)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is CheckpointException or IOException or UnauthorizedAccessException)
        {
            Fail(new CheckpointFailure(content.Step, store.CheckpointsDirectory, e.Message));
            return;
        }

        LastCheckpoint = committed.Directory;
        TrainingLog.CheckpointCommitted(logger, committed.Directory, committed.Step, committed.IsBest);
        observer?.OnCheckpoint(committed.Directory, committed.Step, committed.IsBest);
    }

    /// <summary>Reports a failed commit at once, wherever an operator looks: the log, metrics.jsonl and the observer.</summary>
    private void Fail(CheckpointFailure failure)
    {
        int count;
        lock (_gate)
        {
            _failure = failure;
            count = ++_failureCount;
            if (onFailure == CheckpointFailurePolicy.Stop)
            {
                _stopped ??= failure;
            }
        }

        TrainingLog.CheckpointFailed(logger, failure.Step, failure.Directory, failure.Error, SettingNames.CheckpointFailurePolicies.ToName(onFailure), count);
        Metrics?.CheckpointFailed(failure.Step, failure.Directory, failure.Error, count);
        observer?.OnCheckpointFailed(failure.Step, failure.Directory, failure.Error);
    }

    private sealed record CheckpointFailure(long Step, string Directory, string Error)
    {
        public string Describe() => string.Create(CultureInfo.InvariantCulture, $"checkpoint of step {Step} could not be written to {Directory}: {Error}");
    }
}
