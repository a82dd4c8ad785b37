using Microsoft.Extensions.Logging;

namespace RnnCluster.Training.Cluster;

internal static partial class ClusterTrainingLog
{
    [LoggerMessage(EventId = 2200, Level = LogLevel.Information, Message = "Creating replica {Index} on {Member}")]
    public static partial void CreatingReplica(ILogger logger, int index, string member);

    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "Replica {Index} ready at {Worker} (device {Device}, {Threads} threads)")]
    public static partial void ReplicaReady(ILogger logger, int index, string worker, string device, int threads);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Warning, Message = "Worker {Index} on {Member} {What}; its streams move to the other workers")]
    public static partial void WorkerNodeGone(ILogger logger, int index, string member, string what);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Information, Message = "Built replica {Index} for {Coordinator}")]
    public static partial void ReplicaBuilt(ILogger logger, int index, string coordinator);

    [LoggerMessage(EventId = 2204, Level = LogLevel.Warning, Message = "Replica {Index} failed: {Reason}")]
    public static partial void ReplicaFailed(ILogger logger, int index, string reason);

    [LoggerMessage(EventId = 2205, Level = LogLevel.Information, Message = "Waiting for workers: {Ready} ready, {Needed} needed (cluster.min-workers)")]
    public static partial void WaitingForWorkers(ILogger logger, int ready, int needed);

    [LoggerMessage(EventId = 2206, Level = LogLevel.Information, Message = "Coordinator listening at {Address} ({Secret})")]
    public static partial void CoordinatorListening(ILogger logger, string address, string secret);

    [LoggerMessage(EventId = 2207, Level = LogLevel.Warning, Message = "The coordinator downed this node ({Reason}); rejoining as a new incarnation")]
    public static partial void Rejoining(ILogger logger, string reason);
}
