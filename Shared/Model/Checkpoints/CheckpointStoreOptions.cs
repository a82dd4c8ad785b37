namespace RnnCluster.Model.Checkpoints;

/// <summary>Retention and fencing of a <see cref="CheckpointStore"/>.</summary>
public sealed record CheckpointStoreOptions
{
    /// <summary>Newest committed checkpoints to keep (at least 1: the one just committed is never deleted).</summary>
    public int KeepLast { get; init; } = 3;

    /// <summary>Also keep the checkpoint with the lowest validation loss, however old.</summary>
    public bool KeepBest { get; init; } = true;

    /// <summary>The writer's <see cref="RunFence"/> number: commits are refused once the run directory holds another; 0 = not fenced.</summary>
    public long Fence { get; init; }

    /// <summary>Test-only: a commit phase where the writer stops for good (see <see cref="CheckpointPhaseHold"/>); null in every real run.</summary>
    public CheckpointPhaseHold? Hold { get; init; }
}
