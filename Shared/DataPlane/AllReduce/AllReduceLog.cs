using Microsoft.Extensions.Logging;

namespace RnnCluster.DataPlane.AllReduce;

/// <summary>Log events of gradient all-reduce; ids (4400–4499) are stable so operators can alert on them.</summary>
internal static partial class AllReduceLog
{
    [LoggerMessage(EventId = 4400, Level = LogLevel.Information, Message = "All-reduce group of run {RunId} generation {Generation} formed: rank {Rank} of {Size}")]
    public static partial void Formed(ILogger logger, string runId, int generation, int rank, int size);

    [LoggerMessage(EventId = 4401, Level = LogLevel.Warning, Message = "All-reduce group of generation {Generation} abandoned at step {Step}: peer rank {PeerRank} ({Peer}), {Reason}: {Detail}")]
    public static partial void Abandoned(ILogger logger, int generation, long step, int peerRank, NodeIdentity peer, AbandonReason reason, string detail);

    [LoggerMessage(EventId = 4402, Level = LogLevel.Information, Message = "Dropped a stale {Kind} frame from rank {PeerRank} (step {Step}, attempt {Attempt}, segment {Segment}) in generation {Generation}: {Why}")]
    public static partial void StaleFrame(ILogger logger, string kind, int peerRank, long step, int attempt, int segment, int generation, string why);

    [LoggerMessage(EventId = 4403, Level = LogLevel.Information, Message = "Closed an inbound data-plane connection from {Peer}: {Why}")]
    public static partial void InboundClosed(ILogger logger, NodeIdentity peer, string why);

    [LoggerMessage(EventId = 4404, Level = LogLevel.Debug, Message = "Holding the hello of {Peer} (run {RunId}, generation {Generation}, rank {PeerRank}) until that group forms on this node")]
    public static partial void HelloHeld(ILogger logger, NodeIdentity peer, string runId, int generation, int peerRank);

    [LoggerMessage(EventId = 4405, Level = LogLevel.Warning, Message = "The inbound connection loop of the all-reduce groups failed")]
    public static partial void AcceptLoopFailed(ILogger logger, Exception exception);
}
