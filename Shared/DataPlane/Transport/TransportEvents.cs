namespace RnnCluster.DataPlane.Transport;

/// <summary>An application message received from an authenticated peer, decoded by the transport's <see cref="IMessageCodec"/>.</summary>
public sealed record InboundMessage(NodeIdentity Peer, string Sender, string Recipient, object Message);

/// <summary>
/// A heartbeat from <paramref name="Peer"/>. <paramref name="ReceivedTimestamp"/> is the transport's
/// <see cref="TimeProvider.GetTimestamp"/> at arrival (monotonic, for a failure detector);
/// <paramref name="PendingTransferBytes"/> is how much of the peer's chunked payloads this connection
/// was holding at that moment, so a monitor can tell a quiet peer from one busy sending a tensor.
/// </summary>
public sealed record HeartbeatReceived(NodeIdentity Peer, ulong Sequence, long ReceivedTimestamp, long PendingTransferBytes);

public enum PeerEventKind
{
    Connected = 1,
    Disconnected = 2,
}

/// <summary>
/// An authenticated connection to <paramref name="Peer"/> opened or closed; <paramref name="Reason"/> says
/// why it closed. <paramref name="Farewell"/> is the peer's own farewell when it closed the connection
/// because it is going away for good (<see cref="RemoteTransport.Farewell"/>), else null.
/// </summary>
public sealed record PeerEvent(PeerEventKind Kind, NodeIdentity Peer, bool Outbound, string? Reason, string? Farewell = null);
