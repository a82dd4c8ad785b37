using Microsoft.Extensions.Logging;

namespace RnnCluster.Training.Numerics;

/// <summary>Log events of the numerical policy (event ids 2002 — a skipped step, as before — and 2050–2059, within the trainer's 2000–2099).</summary>
internal static partial class NumericsLog
{
    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Step {Step} skipped ({Reason}): epoch {Epoch}, {Data}; loss {Loss}, gradient norm {Norm}; {InARow} bad steps in a row")]
    public static partial void Skipped(ILogger logger, long step, string reason, int epoch, string data, double loss, double norm, int inARow);

    [LoggerMessage(EventId = 2050, Level = LogLevel.Warning, Message = "Rolled back to {Checkpoint} (step {CheckpointStep}) after {InARow} bad steps in a row at step {Step}: skipping epoch {Epoch} cursor [{FromCursor}, {ToCursor}) ({Reason})")]
    public static partial void RolledBack(ILogger logger, string checkpoint, long checkpointStep, int inARow, long step, int epoch, long fromCursor, long toCursor, string reason);

    [LoggerMessage(EventId = 2051, Level = LogLevel.Warning, Message = "{InARow} bad steps in a row at step {Step} and no committed checkpoint to roll back to: skipping on")]
    public static partial void NothingToRollBackTo(ILogger logger, int inARow, long step);

    [LoggerMessage(EventId = 2053, Level = LogLevel.Warning, Message = "Rolling back past a checkpoint that does not verify: {Why}")]
    public static partial void RollbackCheckpointDamaged(ILogger logger, string why);

    [LoggerMessage(EventId = 2052, Level = LogLevel.Warning, Message = "Validation loss at step {Step} is {Loss}: not counted as best, for the schedule or for early stopping")]
    public static partial void NonFiniteValidation(ILogger logger, long step, double loss);
}
