using System.Net.WebSockets;

namespace RnnCluster.DataPlane.Tensors;

/// <summary>
/// The close codes of tensor connections and what each says to the side that receives it. Standard
/// codes are a goodbye or a refusal; the application range (4000–4999) adds the two ends a peer can
/// only learn from the other side.
/// </summary>
internal static class TensorCloseStatus
{
    /// <summary>The peer gate refused the dialer during its handshake (the reason text says why).</summary>
    public const WebSocketCloseStatus NotAdmitted = (WebSocketCloseStatus)4001;

    /// <summary>This side gave up waiting for the rest of the peer's tensor.</summary>
    public const WebSocketCloseStatus Stalled = (WebSocketCloseStatus)4004;

    /// <summary>What a close message from the peer of an open connection means.</summary>
    public static ConnectionEndReason Classify(WebSocketCloseStatus? status) => status switch
    {
        WebSocketCloseStatus.NormalClosure or WebSocketCloseStatus.EndpointUnavailable or WebSocketCloseStatus.Empty or null => ConnectionEndReason.Goodbye,
        Stalled => ConnectionEndReason.Stalled,
        _ => ConnectionEndReason.RefusedByPeer,
    };
}
