using Microsoft.Extensions.Logging;

namespace RnnCluster.Parallel.Cluster;

/// <summary>Log events of a cluster run on Akka.Cluster (event ids 2300–2399).</summary>
internal static partial class ClusterRunLog
{
    [LoggerMessage(EventId = 2300, Level = LogLevel.Information, Message = "Registered worker {Worker} on {Node} (incarnation {Incarnation}, {Device}, {Threads} threads)")]
    public static partial void Registered(ILogger logger, int worker, string node, long incarnation, string device, int threads);

    [LoggerMessage(EventId = 2301, Level = LogLevel.Information, Message = "Worker {Worker}'s data plane connected from {Peer}")]
    public static partial void Connected(ILogger logger, int worker, string peer);

    [LoggerMessage(EventId = 2302, Level = LogLevel.Warning, Message = "Data-plane link to {Peer} ended: {Why}")]
    public static partial void LinkEnded(ILogger logger, string peer, string why);

    [LoggerMessage(EventId = 2317, Level = LogLevel.Information, Message = "Data-plane link to {Peer} closed: {Why}")]
    public static partial void LinkClosed(ILogger logger, string peer, string why);

    [LoggerMessage(EventId = 2303, Level = LogLevel.Warning, Message = "Refused a data-plane connection from {Peer}: {Why}")]
    public static partial void ConnectionRefused(ILogger logger, string peer, string why);

    [LoggerMessage(EventId = 2304, Level = LogLevel.Warning, Message = "Node {Node} is unreachable; its worker {Worker} leaves the plan now")]
    public static partial void Unreachable(ILogger logger, string node, int worker);

    [LoggerMessage(EventId = 2305, Level = LogLevel.Information, Message = "Registered with the coordinator as worker {Worker} of run {Run}; data plane {DataPlane}")]
    public static partial void Accepted(ILogger logger, int worker, string run, string dataPlane);

    [LoggerMessage(EventId = 2307, Level = LogLevel.Warning, Message = "Test fault: holding {Message} for {Delay} before sending (cluster.test-faults)")]
    public static partial void Holding(ILogger logger, string message, TimeSpan delay);

    [LoggerMessage(EventId = 2308, Level = LogLevel.Warning, Message = "Data-plane link to {Peer} closed without a goodbye: the process is gone ({Why})")]
    public static partial void PeerGone(ILogger logger, string peer, string why);

    [LoggerMessage(EventId = 2309, Level = LogLevel.Information, Message = "Node {Node} was removed from the cluster: {Why}")]
    public static partial void Removed(ILogger logger, string node, string why);

    [LoggerMessage(EventId = 2306, Level = LogLevel.Warning, Message = "Lost the coordinator's data plane ({Why}); registering again")]
    public static partial void CoordinatorLost(ILogger logger, string why);

    [LoggerMessage(EventId = 2310, Level = LogLevel.Information, Message = "The coordinator singleton started on this node ({Node}) with fence {Fence}")]
    public static partial void SingletonStarted(ILogger logger, string node, long fence);

    [LoggerMessage(EventId = 2311, Level = LogLevel.Warning, Message = "Waiting for the run directory: {Why}")]
    public static partial void WaitingForRunDirectory(ILogger logger, string why);

    [LoggerMessage(EventId = 2312, Level = LogLevel.Information, Message = "Rebuilding the run from worker {Worker}: it holds step {Step} (fence {Fence}); the newest checkpoint has step {CheckpointStep}")]
    public static partial void Rebuilding(ILogger logger, int worker, long step, long fence, long checkpointStep);

    [LoggerMessage(EventId = 2313, Level = LogLevel.Information, Message = "Rebuilt the run from the workers at step {Step} in {Seconds:F2} s: no step lost")]
    public static partial void Rebuilt(ILogger logger, long step, double seconds);

    [LoggerMessage(EventId = 2314, Level = LogLevel.Warning, Message = "Not rebuilding from the workers: {Why}; resuming at step {Step} (the newest committed checkpoint, or the start)")]
    public static partial void NotRebuilt(ILogger logger, string why, long step);

    [LoggerMessage(EventId = 2315, Level = LogLevel.Information, Message = "Sending the run held at step {Step} to the new coordinator")]
    public static partial void SendingSnapshot(ILogger logger, long step);

    [LoggerMessage(EventId = 2316, Level = LogLevel.Error, Message = "Worker {Node} has seen coordinator fence {Seen}, this coordinator has {Fence}: it is stale and refuses to coordinate")]
    public static partial void Stale(ILogger logger, string node, long seen, long fence);

    [LoggerMessage(EventId = 2318, Level = LogLevel.Information, Message = "Not resuming from {Checkpoint}, which --resume named when this node started: the run has committed newer checkpoints since (or it is gone); resuming from the newest one that verifies")]
    public static partial void ResumePassedOver(ILogger logger, string checkpoint);

    [LoggerMessage(EventId = 2319, Level = LogLevel.Warning, Message = "{Remote} has quarantined this node: the cluster removed it and no member will talk to it again; it downs itself so that it stops")]
    public static partial void Quarantined(ILogger logger, string remote);

    [LoggerMessage(EventId = 2320, Level = LogLevel.Information, Message = "Akka.Remote TLS on with certificate {Subject} (valid until {NotAfter:u}); peer certificates checked against {Trust}")]
    public static partial void RemoteTlsEnabled(ILogger logger, string subject, DateTime notAfter, string trust);

    [LoggerMessage(EventId = 2321, Level = LogLevel.Warning, Message = "Akka.Remote refused the TLS certificate of {Peer}: {Why}")]
    public static partial void RemoteCertificateRefused(ILogger logger, string peer, string why);

    [LoggerMessage(EventId = 2330, Level = LogLevel.Information, Message = "All-reduce generation {Generation}: rank {Rank} of {Size}; {Source}")]
    public static partial void JoinedGroup(ILogger logger, int generation, int rank, int size, string source);
}
