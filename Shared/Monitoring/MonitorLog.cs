using Microsoft.Extensions.Logging;

namespace RnnCluster.Monitoring;

/// <summary>Log events of the run monitor and its HTTP server (event ids 6000–6099).</summary>
internal static partial class MonitorLog
{
    [LoggerMessage(EventId = 6000, Level = LogLevel.Warning, Message = "dashboard not served: {Host}:{Port} is in use ({Reason}); training goes on without it")]
    public static partial void PortInUse(ILogger logger, string host, int port, string reason);

    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Dashboard served at {Address}")]
    public static partial void Serving(ILogger logger, string address);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Debug, Message = "Events follower cut off after falling {Capacity} updates behind; it reconnects from a fresh state")]
    public static partial void FollowerDropped(ILogger logger, int capacity);
}
