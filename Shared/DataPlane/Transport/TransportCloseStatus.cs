using System.Net.WebSockets;

namespace RnnCluster.DataPlane.Transport;

/// <summary>
/// Application close codes (RFC 6455 reserves 4000–4999 for them) for connections ended on purpose,
/// so the peer can log why and its dialer backs off instead of redialling at once.
/// </summary>
internal static class TransportCloseStatus
{
    /// <summary>The peer gate refused the node after its handshake.</summary>
    public const WebSocketCloseStatus Refused = (WebSocketCloseStatus)4001;

    /// <summary><see cref="RemoteTransport.Disconnect"/> closed the connection.</summary>
    public const WebSocketCloseStatus Disconnected = (WebSocketCloseStatus)4002;

    /// <summary>The node is going away for good (<see cref="RemoteTransport.Farewell"/>); the reason says why.</summary>
    public const WebSocketCloseStatus Farewell = (WebSocketCloseStatus)4003;

    public static bool IsDeliberate(WebSocketCloseStatus? status) => status is Refused or Disconnected or Farewell;
}
