using Microsoft.Extensions.Logging;

namespace RnnCluster.DataPlane.Tensors;

/// <summary>
/// Log events of the tensor transport; ids (4300–4399) are stable so operators can alert on them.
/// TLS certificate refusals are logged by the WebSocket layer underneath (<c>TransportLog</c> 4014, 4015).
/// </summary>
internal static partial class TensorLog
{
    [LoggerMessage(EventId = 4300, Level = LogLevel.Information, Message = "Tensor transport of {Node} listening on {Endpoint} ({Bound})")]
    public static partial void Listening(ILogger logger, NodeIdentity node, DataPlaneEndPoint endpoint, string bound);

    [LoggerMessage(EventId = 4301, Level = LogLevel.Information, Message = "Tensor transport of {Node} stopped")]
    public static partial void Stopped(ILogger logger, NodeIdentity node);

    [LoggerMessage(EventId = 4302, Level = LogLevel.Warning, Message = "Refused a tensor connection from {Remote}: {Open} connections are open, the limit is {Limit}")]
    public static partial void ConnectionLimitReached(ILogger logger, string remote, int open, int limit);

    [LoggerMessage(EventId = 4303, Level = LogLevel.Warning, Message = "Tensor handshake with {Remote} ({Direction}) failed; connection closed: {Reason}")]
    public static partial void HandshakeFailed(ILogger logger, string remote, string direction, string reason);

    [LoggerMessage(EventId = 4304, Level = LogLevel.Warning, Message = "Refused {Peer} during its tensor handshake: {Reason}")]
    public static partial void PeerRefused(ILogger logger, NodeIdentity peer, string reason);

    [LoggerMessage(EventId = 4305, Level = LogLevel.Information, Message = "Tensor connection to {Peer} open ({Direction})")]
    public static partial void Connected(ILogger logger, NodeIdentity peer, string direction);

    /// <summary>Information when either side meant to close; a warning for everything else.</summary>
    [LoggerMessage(EventId = 4306, Message = "Tensor connection to {Peer} ended, {Reason}: {Detail}")]
    public static partial void Ended(ILogger logger, LogLevel level, NodeIdentity peer, ConnectionEndReason reason, string detail);

    [LoggerMessage(EventId = 4307, Level = LogLevel.Warning, Message = "Dropping the tensor connection to {Peer}, which sent a frame that breaks the rules: {Reason}")]
    public static partial void FrameRefused(ILogger logger, NodeIdentity peer, string reason);

    [LoggerMessage(EventId = 4308, Level = LogLevel.Warning, Message = "Tensor transfer with {Peer} stalled; aborting the connection: {Detail}")]
    public static partial void Stalled(ILogger logger, NodeIdentity peer, string detail);

    /// <summary>Information for refused and unreachable endpoints (expected while a peer restarts); a warning for refused handshakes.</summary>
    [LoggerMessage(EventId = 4309, Message = "Connecting to {EndPoint} failed, {Reason}: {Detail}")]
    public static partial void ConnectFailed(ILogger logger, LogLevel level, DataPlaneEndPoint endPoint, ConnectionEndReason reason, string detail);

    [LoggerMessage(EventId = 4310, Level = LogLevel.Debug, Message = "Rejected a request for {Path} from {Remote}: not a WebSocket request to the tensor path")]
    public static partial void NotTensorRequest(ILogger logger, string path, string remote);

    [LoggerMessage(EventId = 4311, Level = LogLevel.Information, Message = "Tensor transport TLS on with certificate {Subject} (valid until {NotAfter:u}); peer certificates checked against {Trust}")]
    public static partial void TlsEnabled(ILogger logger, string subject, DateTime notAfter, string trust);

    [LoggerMessage(EventId = 4312, Level = LogLevel.Error, Message = "Tensor connection from {Remote} failed unexpectedly")]
    public static partial void AcceptFailed(ILogger logger, string remote, Exception exception);

    [LoggerMessage(EventId = 4313, Level = LogLevel.Information, Message = "Tensors to {Peer} go through shared memory ({Bytes} bytes of ring)")]
    public static partial void RingAccepted(ILogger logger, NodeIdentity peer, long bytes);

    [LoggerMessage(EventId = 4314, Level = LogLevel.Information, Message = "Tensors to {Peer} go over the socket: {Reason}")]
    public static partial void RingDeclined(ILogger logger, NodeIdentity peer, string reason);

    [LoggerMessage(EventId = 4315, Level = LogLevel.Information, Message = "No shared memory for tensors to {Peer}: a ring in {Directory} could not be made: {Reason}")]
    public static partial void RingUnavailable(ILogger logger, NodeIdentity peer, string directory, string reason);
}
