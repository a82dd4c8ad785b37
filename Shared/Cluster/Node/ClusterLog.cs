using Microsoft.Extensions.Logging;

namespace RnnCluster.Cluster;

internal static partial class ClusterLog
{
    [LoggerMessage(EventId = 4200, Level = LogLevel.Information, Message = "Member {Member} joined and is Up (roles {Roles}, device {Device}, {Threads} threads)")]
    public static partial void Joined(ILogger logger, string member, string roles, string device, int threads);

    [LoggerMessage(EventId = 4201, Level = LogLevel.Warning, Message = "Join of {Member} refused: {Reason}")]
    public static partial void JoinRefused(ILogger logger, string member, string reason);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Warning, Message = "Member {Member} is unreachable (phi {Phi:F1})")]
    public static partial void Unreachable(ILogger logger, string member, double phi);

    [LoggerMessage(EventId = 4203, Level = LogLevel.Information, Message = "Member {Member} is reachable again")]
    public static partial void Reachable(ILogger logger, string member);

    [LoggerMessage(EventId = 4204, Level = LogLevel.Warning, Message = "Member {Member} downed (unreachable for more than {DownAfter}); it must rejoin as a new incarnation")]
    public static partial void Downed(ILogger logger, string member, TimeSpan downAfter);

    [LoggerMessage(EventId = 4205, Level = LogLevel.Information, Message = "Member {Member} is leaving")]
    public static partial void Leaving(ILogger logger, string member);

    [LoggerMessage(EventId = 4206, Level = LogLevel.Warning, Message = "Ignored a join with a bad node address '{Address}'")]
    public static partial void BadJoin(ILogger logger, string address);

    [LoggerMessage(EventId = 4207, Level = LogLevel.Debug, Message = "Connection {Kind}: {Peer} {Reason}")]
    public static partial void PeerEvent(ILogger logger, string kind, string peer, string reason);

    [LoggerMessage(EventId = 4208, Level = LogLevel.Information, Message = "Joining the cluster through {Seeds}")]
    public static partial void Joining(ILogger logger, string seeds);

    [LoggerMessage(EventId = 4209, Level = LogLevel.Information, Message = "Joined: the coordinator {Leader} admitted this node ({Node})")]
    public static partial void Welcomed(ILogger logger, string leader, string node);

    [LoggerMessage(EventId = 4210, Level = LogLevel.Warning, Message = "Lost the connection to the coordinator {Leader}; waiting up to {Timeout} for it")]
    public static partial void LeaderLost(ILogger logger, string leader, TimeSpan timeout);

    [LoggerMessage(EventId = 4211, Level = LogLevel.Information, Message = "The coordinator {Leader} is back as a new incarnation; joining again")]
    public static partial void LeaderRestarted(ILogger logger, string leader);

    [LoggerMessage(EventId = 4212, Level = LogLevel.Warning, Message = "The coordinator refused or downed this node: {Reason}")]
    public static partial void DownedByLeader(ILogger logger, string reason);

    [LoggerMessage(EventId = 4213, Level = LogLevel.Warning, Message = "Member {Member} downed: its connection closed and its port refuses connections (the process is gone)")]
    public static partial void ProcessGone(ILogger logger, string member);
}
