using Microsoft.Extensions.Logging;

namespace RnnCluster.DataPlane.Transport;

/// <summary>Log events of the remoting transport; ids (4000–4099) are stable so operators can alert on them.</summary>
internal static partial class TransportLog
{
    [LoggerMessage(EventId = 4000, Level = LogLevel.Information, Message = "Remoting transport of {Node} listening on {Endpoint}")]
    public static partial void Listening(ILogger logger, NodeIdentity node, string endpoint);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Remoting transport of {Node} stopped")]
    public static partial void Stopped(ILogger logger, NodeIdentity node);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Refused a connection from {Remote}: {Open} connections are open, the limit is {Limit}")]
    public static partial void ConnectionLimitReached(ILogger logger, string remote, int open, int limit);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Handshake with {Remote} ({Direction}) failed; connection closed: {Reason}")]
    public static partial void HandshakeFailed(ILogger logger, string remote, string direction, string reason);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "Connected to {Peer} ({Direction})")]
    public static partial void PeerConnected(ILogger logger, NodeIdentity peer, string direction);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Information, Message = "Connection to {Peer} closed: {Reason}")]
    public static partial void PeerDisconnected(ILogger logger, NodeIdentity peer, string reason);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Warning, Message = "Closing the connection to {Peer}, which broke the protocol: {Reason}")]
    public static partial void ProtocolViolation(ILogger logger, NodeIdentity peer, string reason);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Information, Message = "Dialling {Address} failed (attempt {Attempt}), next try in {Delay}: {Reason}")]
    public static partial void DialFailed(ILogger logger, string address, int attempt, TimeSpan delay, string reason);

    [LoggerMessage(EventId = 4008, Level = LogLevel.Debug, Message = "Closed a duplicate connection to {Peer}; kept the one dialled by {Dialler}")]
    public static partial void DuplicateClosed(ILogger logger, NodeIdentity peer, string dialler);

    [LoggerMessage(EventId = 4009, Level = LogLevel.Warning, Message = "Dialled {Address} but the node there is {Presented}; connection closed")]
    public static partial void WrongPeer(ILogger logger, string address, NodeIdentity presented);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Warning, Message = "Connection to {Peer} failed")]
    public static partial void ConnectionFailed(ILogger logger, NodeIdentity peer, Exception exception);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Information, Message = "{Peer} came back as a new incarnation; replaced the connection to {Previous}")]
    public static partial void IncarnationReplaced(ILogger logger, NodeIdentity peer, NodeIdentity previous);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Information, Message = "Dropped {Count} abandoned chunked transfers from {Peer}")]
    public static partial void AbandonedTransfers(ILogger logger, NodeIdentity peer, int count);

    [LoggerMessage(EventId = 4013, Level = LogLevel.Debug, Message = "Rejected a request for {Path} from {Remote}: not a WebSocket request to the transport path")]
    public static partial void NotTransportRequest(ILogger logger, string path, string remote);

    [LoggerMessage(EventId = 4014, Level = LogLevel.Warning, Message = "Refused the TLS certificate of an inbound connection: {Reason}")]
    public static partial void InboundCertificateRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = 4015, Level = LogLevel.Warning, Message = "Refused the TLS certificate of {Address}: {Reason}")]
    public static partial void OutboundCertificateRefused(ILogger logger, string address, string reason);

    [LoggerMessage(EventId = 4016, Level = LogLevel.Warning, Message = "Refused {Peer} ({Direction}) after its handshake: {Reason}")]
    public static partial void PeerRefused(ILogger logger, NodeIdentity peer, string direction, string reason);

    [LoggerMessage(EventId = 4017, Level = LogLevel.Error, Message = "The peer gate failed on {Peer}; refusing it")]
    public static partial void PeerGateFailed(ILogger logger, NodeIdentity peer, Exception exception);

    [LoggerMessage(EventId = 4018, Level = LogLevel.Information, Message = "Disconnecting from {Peer}: {Reason}")]
    public static partial void Disconnecting(ILogger logger, NodeIdentity peer, string reason);

    [LoggerMessage(EventId = 4019, Level = LogLevel.Information, Message = "TLS on with certificate {Subject} (valid until {NotAfter:u}); peer certificates checked against {Trust}")]
    public static partial void TlsEnabled(ILogger logger, string subject, DateTime notAfter, string trust);

    [LoggerMessage(EventId = 4020, Level = LogLevel.Warning, Message = "Fault injection is on for ordinary outbound messages ({Faults}); for tests only")]
    public static partial void FaultsEnabled(ILogger logger, TransportFaults faults);

    [LoggerMessage(EventId = 4021, Level = LogLevel.Information, Message = "Test fault: holding {MessageType} for {Peer} {DelayMs} ms before it is sent (logged for the first of each message type per connection)")]
    public static partial void FaultHolding(ILogger logger, string messageType, NodeIdentity peer, double delayMs);
}
