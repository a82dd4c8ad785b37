using Microsoft.Extensions.Logging;

namespace RnnCluster.DataPlane.Transport;

/// <summary>
/// Log events of the WebSocket layer under the tensor transport (<see cref="WebSocketHost"/>). The ids
/// are those the remoting transport used (4000–4099), kept so alerts on a refused certificate still fire.
/// </summary>
internal static partial class TransportLog
{
    [LoggerMessage(EventId = 4014, Level = LogLevel.Warning, Message = "Refused the TLS certificate of an inbound connection: {Reason}")]
    public static partial void InboundCertificateRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = 4015, Level = LogLevel.Warning, Message = "Refused the TLS certificate of {Address}: {Reason}")]
    public static partial void OutboundCertificateRefused(ILogger logger, string address, string reason);

    [LoggerMessage(EventId = 4016, Level = LogLevel.Information, Message = "Refused a connection from {Remote}: its request is not HTTP ({Reason})")]
    public static partial void BadUpgradeRequest(ILogger logger, string remote, string reason);

    [LoggerMessage(EventId = 4017, Level = LogLevel.Debug, Message = "A connection from {Remote} ended before its WebSocket upgrade: {Reason}")]
    public static partial void UpgradeAbandoned(ILogger logger, string remote, string reason);

    [LoggerMessage(EventId = 4018, Level = LogLevel.Warning, Message = "The data-plane listener failed to accept a connection ({Error}: {Reason}); retrying")]
    public static partial void AcceptFailed(ILogger logger, string error, string reason);
}
