using Microsoft.Extensions.Logging;

namespace RnnCluster.Training.Parallel;

/// <summary>Log events of the data-parallel coordinator and workers (event ids 2100–2199).</summary>
internal static partial class ParallelLog
{
    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "Generation {Generation}: {Workers} workers, shards {Plan}")]
    public static partial void NewGeneration(ILogger logger, int generation, int workers, string plan);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Refused gradients of worker {Worker} for step {Step} generation {Generation} attempt {Attempt}: the open step is {OpenStep} generation {OpenGeneration}")]
    public static partial void StaleGradients(ILogger logger, int worker, long step, int generation, int attempt, long openStep, int openGeneration);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "Worker {Worker} failed at step {Step} ({Directive}): {Reason}; retrying its shard")]
    public static partial void WorkerFailed(ILogger logger, int worker, long step, string directive, string reason);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "Worker {Worker} is gone (stopped after repeated failures, or its node or link ended); re-planning its streams onto {Remaining} workers")]
    public static partial void WorkerStopped(ILogger logger, int worker, int remaining);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Warning, Message = "Step {Step} passed its deadline of {Deadline} waiting for workers {Missing}; policy {Policy}")]
    public static partial void Straggler(ILogger logger, long step, TimeSpan deadline, string missing, string policy);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Error, Message = "The coordinator failed at step {Step}; it restarts from the newest committed checkpoint")]
    public static partial void CoordinatorRestarting(ILogger logger, Exception error, long step);

    [LoggerMessage(EventId = 2106, Level = LogLevel.Information, Message = "Coordinator resumed from {Checkpoint}")]
    public static partial void CoordinatorResumed(ILogger logger, string checkpoint);

    [LoggerMessage(EventId = 2108, Level = LogLevel.Debug, Message = "Ignored a second reply of worker {Worker} for step {Step} (attempt {Attempt}): its first reply counted")]
    public static partial void DuplicateGradients(ILogger logger, int worker, long step, int attempt);

    [LoggerMessage(EventId = 2107, Level = LogLevel.Information, Message = "Waiting for workers: {Ready} ready, {Needed} needed")]
    public static partial void WaitingForWorkers(ILogger logger, int ready, int needed);

    [LoggerMessage(EventId = 2109, Level = LogLevel.Warning, Message = "Worker {Worker} abandoned step {Step} of generation {Generation} (its all-reduce lost a peer or stalled); nothing of it was applied, a new generation computes it again")]
    public static partial void StepAbandoned(ILogger logger, int worker, long step, int generation);

    [LoggerMessage(EventId = 2110, Level = LogLevel.Information, Message = "Fetched the run at step {Step} from a worker; {Replicas} replicas agree on checksum {Checksum:x16}")]
    public static partial void ReplicasAgree(ILogger logger, long step, int replicas, ulong checksum);

    [LoggerMessage(EventId = 2111, Level = LogLevel.Warning, Message = "Fetching the run at step {Step}: worker {Worker} sent no copy ({Why}); asking the next worker that holds it")]
    public static partial void FetchPassedOn(ILogger logger, long step, int worker, string why);

    // 2190-2199: checkpoints as the coordinator sees them (apart from the ids others add after 2110).
    [LoggerMessage(EventId = 2112, Level = LogLevel.Warning, Message = "Stopped on request while waiting for workers: the run ends at step {Step}{Where}")]
    public static partial void StoppedWhileWaiting(ILogger logger, long step, string where);

    [LoggerMessage(EventId = 2190, Level = LogLevel.Warning, Message = "Passed over a damaged checkpoint when resuming: {Reason}")]
    public static partial void CheckpointSkipped(ILogger logger, string reason);

    [LoggerMessage(EventId = 2191, Level = LogLevel.Error, Message = "The run ends without a restart: {Reason}")]
    public static partial void RunAborted(ILogger logger, string reason);
}
