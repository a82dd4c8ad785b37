using System.Net.WebSockets;

namespace RnnCluster.DataPlane.Transport;

/// <summary>A peer sent something the transport never accepts; its connection is closed with <see cref="Status"/>.</summary>
internal sealed class ProtocolViolationException(string reason, WebSocketCloseStatus status = WebSocketCloseStatus.PolicyViolation)
    : Exception(reason)
{
    public WebSocketCloseStatus Status { get; } = status;
}
