using Microsoft.Extensions.Logging;
using RnnCluster.Model.Checkpoints;

namespace RnnCluster.Training;

/// <summary>
/// Commits a training loop's checkpoints in the background, one at a time: the loop copies everything
/// on its own thread (the only pause training takes), and hashing and fsync overlap the next steps.
/// </summary>
internal sealed class CheckpointPipeline(CheckpointStore store, RunDirectoryLock runLock, ILogger logger, ITrainingObserver? observer) : IDisposable
{
    /// <summary>
    /// Takes the run directory's lock (refused when another trainer writes it) and opens (creating) its
    /// checkpoint store with the run's retention settings.
    /// </summary>
    public static CheckpointPipeline Open(string runDirectory, Config.CheckpointSettings settings, TrainerServices services, ILogger logger)
    {
        var runLock = RunDirectoryLock.Acquire(runDirectory, services.Time);
        try
        {
            // Under the lock: this trainer's number, which its checkpoints and step commands carry.
            var fence = RunFence.Advance(runLock.RunDirectory);
            var store = CheckpointStore.Open(
                runDirectory,
                new CheckpointStoreOptions { KeepLast = settings.KeepLast, KeepBest = settings.KeepBest, Fence = fence },
                services.Time,
                services.LoggerFactory.CreateLogger<CheckpointStore>());
            return new CheckpointPipeline(store, runLock, logger, services.Observer) { Fence = fence };
        }
        catch
        {
            runLock.Dispose();
            throw;
        }
    }

    private Task? _pending;

    /// <summary>The newest committed checkpoint directory (or the one resumed from).</summary>
    /// <summary>This trainer's <see cref="RunFence"/> number.</summary>
    public long Fence { get; private init; }

    public string? LastCheckpoint { get; set; }

    /// <summary>The step of the newest checkpoint started (committed or in flight); -1 before any.</summary>
    public long LastStep { get; set; } = -1;

    public string? BestDirectory => store.BestDirectory;

    /// <summary>Starts committing <paramref name="content"/>; call <see cref="DrainAsync"/> first so commits never overlap.</summary>
    public void Start(CheckpointContent content)
    {
        LastStep = content.Step;
        _pending = CommitInBackgroundAsync(content);
    }

    public async Task DrainAsync()
    {
        if (_pending is { } pending)
        {
            _pending = null;
            await pending.ConfigureAwait(false);
        }
    }

    /// <summary>Waits for a commit in flight, ignoring its failure (already logged), e.g. when disposing.</summary>
    public void DrainQuietly()
    {
        // A commit in flight finishes before the store is reopened by a restarted coordinator, which
        // would otherwise clean up its temporary directory under it. Its failure was logged already.
        try
        {
            DrainAsync().GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is IOException or CheckpointException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Lets a commit in flight finish, then gives the run directory up.</summary>
    public void Dispose()
    {
        DrainQuietly();
        runLock.Dispose();
    }

    private async Task CommitInBackgroundAsync(CheckpointContent content)
    {
        var committed = await Task.Run(() => store.CommitAsync(content, CancellationToken.None)).ConfigureAwait(false);
        LastCheckpoint = committed.Directory;
        TrainingLog.CheckpointCommitted(logger, committed.Directory, committed.Step, committed.IsBest);
        observer?.OnCheckpoint(committed.Directory, committed.Step, committed.IsBest);
    }
}
