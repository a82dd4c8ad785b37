using Microsoft.Extensions.Logging;

namespace RnnCluster.Training;

/// <summary>Log events of the trainer (event ids 2000–2099).</summary>
internal static partial class TrainingLog
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "Training {Parameters} parameters on {Device} with {Threads} threads: {Streams} streams x {StreamLength} steps, {StepsPerEpoch} steps per epoch")]
    public static partial void Started(ILogger logger, long parameters, string device, int threads, int streams, int streamLength, long stepsPerEpoch);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Resumed from {Checkpoint} at step {Step}, epoch {Epoch}")]
    public static partial void Resumed(ILogger logger, string checkpoint, long step, int epoch);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Learning rate {From} -> {To} after a validation plateau at step {Step}")]
    public static partial void PlateauDecay(ILogger logger, double from, double to, long step);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Early stop at step {Step}: {Evaluations} evaluations without improvement")]
    public static partial void EarlyStop(ILogger logger, long step, int evaluations);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information, Message = "Interrupted at step {Step}; writing a checkpoint before exiting")]
    public static partial void Interrupted(ILogger logger, long step);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Information, Message = "Checkpoint {Directory} committed (step {Step}, best {IsBest})")]
    public static partial void CheckpointCommitted(ILogger logger, string directory, long step, bool isBest);

    [LoggerMessage(EventId = 2080, Level = LogLevel.Error, Message = "{Path}: a metrics line could not be written ({Error}); lines are dropped, never half-written, until writing works again")]
    public static partial void MetricsLineDropped(ILogger logger, string path, string error);

    [LoggerMessage(EventId = 2081, Level = LogLevel.Information, Message = "{Path}: writing again after {Dropped} dropped metrics lines")]
    public static partial void MetricsWritingAgain(ILogger logger, string path, long dropped);

    // 2090-2099: checkpoint outcomes as the trainer sees them (kept apart from the step events below 2090).
    [LoggerMessage(EventId = 2090, Level = LogLevel.Error, Message = "Checkpoint of step {Step} could not be written to {Directory}: {Error} (checkpoint.on-failure = {Policy}; {Failures} failed so far; the previous checkpoint is intact)")]
    public static partial void CheckpointFailed(ILogger logger, long step, string directory, string error, string policy, int failures);
}
