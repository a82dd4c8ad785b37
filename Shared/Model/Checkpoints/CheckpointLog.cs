using Microsoft.Extensions.Logging;

namespace RnnCluster.Model.Checkpoints;

/// <summary>Log events of the checkpoint store; ids are stable so operators can alert on them.</summary>
internal static partial class CheckpointLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Committed checkpoint {Directory} (step {Step}, best {IsBest})")]
    public static partial void Committed(ILogger logger, string directory, long step, bool isBest);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Removed unfinished checkpoint {Path} left by an interrupted write")]
    public static partial void RemovedUnfinished(ILogger logger, string path);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Retention deleted checkpoint {Directory}")]
    public static partial void Pruned(ILogger logger, string directory);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Checkpoint {Directory} is committed, but updating the best pointer or retention failed; it is retried after the next commit")]
    public static partial void HousekeepingFailed(ILogger logger, string directory, Exception exception);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "The best checkpoint {Directory} has an unreadable manifest; the next checkpoint with a validation loss becomes the best")]
    public static partial void BestUnreadable(ILogger logger, string directory, Exception exception);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "Could not remove the partial checkpoint {Path} after a failed commit; it is removed when the store is next opened")]
    public static partial void AbandonFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Warning, Message = "Checkpoint {Directory} failed verification and does not count toward checkpoint.keep-last (it is kept for inspection): {Reason}")]
    public static partial void KeptCheckpointDamaged(ILogger logger, string directory, string reason);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Warning, Message = "checkpoint phase {Phase} reached (step {Step}); holding here until killed (test fault)")]
    public static partial void PhaseReached(ILogger logger, string phase, long step);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Information, Message = "Checkpoint {Directory} failed verification and its step is being written again; the damaged copy is kept as {Aside}")]
    public static partial void SetAside(ILogger logger, string directory, string aside);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Warning, Message = "Checkpoint of step {Step} needs about {Needed} bytes, but {Free} are free in {Directory}; writing it anyway, and its outcome decides")]
    public static partial void ShortOfSpace(ILogger logger, long step, long needed, long free, string directory);
}
