namespace RnnCluster.DataPlane.Tensors;

/// <summary>
/// A tensor connection has ended, or could not be opened; <see cref="End"/> says why and names the peer.
/// Thrown by <see cref="TensorTransport.ConnectAsync"/>, <see cref="TensorConnection.SendAsync"/> and
/// <see cref="TensorConnection.ReceiveAsync"/>.
/// </summary>
public sealed class TensorConnectionException(ConnectionEnd end, Exception? inner = null)
    : Exception($"Tensor connection to {end.Peer}: {Describe(end.Reason)}: {end.Detail}", inner)
{
    public ConnectionEnd End { get; } = end;

    private static string Describe(ConnectionEndReason reason) => reason switch
    {
        ConnectionEndReason.ClosedHere => "closed by this node",
        ConnectionEndReason.Goodbye => "the peer said goodbye",
        ConnectionEndReason.ClosedWithoutGoodbye => "closed without goodbye (the peer process is gone or the network cut the connection)",
        ConnectionEndReason.FrameRefused => "the peer sent a frame that breaks the rules",
        ConnectionEndReason.RefusedByPeer => "the peer refused a frame of this node",
        ConnectionEndReason.Stalled => "stalled",
        ConnectionEndReason.HandshakeRefused => "handshake refused",
        ConnectionEndReason.ConnectionRefused => "connection refused (nothing listens there)",
        ConnectionEndReason.Unreachable => "unreachable",
        _ => reason.ToString(),
    };
}
