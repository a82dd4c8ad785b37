namespace RnnCluster.DataPlane.Tensors;

/// <summary>
/// Why a tensor connection ended, or why a connect attempt failed. The values separate what says the
/// peer process is gone (<see cref="ClosedWithoutGoodbye"/>, <see cref="ConnectionRefused"/>) from what
/// says it is alive but will not or cannot talk, so a cluster can act on a crash at once instead of
/// waiting for its failure detector.
/// </summary>
public enum ConnectionEndReason
{
    /// <summary>This side closed it: <see cref="TensorConnection.CloseAsync"/>, disposal, its transport stopping, or a send it cancelled mid-tensor.</summary>
    ClosedHere = 1,

    /// <summary>The peer closed it with a goodbye (a WebSocket close message): it meant to, and was alive to say so.</summary>
    Goodbye = 2,

    /// <summary>
    /// The TCP connection ended without a goodbye: a reset, or end of stream without a close message.
    /// What a killed process leaves behind (its kernel closes its sockets at once), or a network that cut
    /// the connection.
    /// </summary>
    ClosedWithoutGoodbye = 3,

    /// <summary>
    /// The peer sent a frame that breaks the rules (over the frame limit, not a frame, a bad or truncated
    /// chunk, a failed checksum, a transfer over the in-flight limit, anything but a tensor); this side
    /// logged it and dropped the connection.
    /// </summary>
    FrameRefused = 4,

    /// <summary>The peer dropped the connection over a frame of this side's (a protocol-error close code).</summary>
    RefusedByPeer = 5,

    /// <summary>
    /// A transfer made no progress within its timeout (the peer stopped reading, or stopped sending in
    /// the middle of a tensor), a handshake did not finish in time, or the peer gave up waiting for one
    /// of this side's transfers. The connection is aborted.
    /// </summary>
    Stalled = 6,

    /// <summary>
    /// Authentication or admission failed: a wrong cluster secret, a peer the gate does not know, a
    /// node other than the one expected, a refused TLS certificate, or not a tensor endpoint at all.
    /// </summary>
    HandshakeRefused = 7,

    /// <summary>Connecting: nothing listens at the endpoint (TCP connection refused), so the process that did is gone.</summary>
    ConnectionRefused = 8,

    /// <summary>Connecting: no answer within the connect timeout, or no route to the host. Says nothing about the process.</summary>
    Unreachable = 9,
}

/// <summary>How a tensor connection ended (or a connect attempt failed): the reason, the peer, and a detail for logs.</summary>
/// <param name="Peer">The peer's identity once the handshake named it, else the endpoint dialled or the remote address.</param>
public sealed record ConnectionEnd(ConnectionEndReason Reason, string Peer, string Detail)
{
    /// <summary>True for the reasons that mean the peer's process is gone: closed without goodbye, or connection refused.</summary>
    public bool PeerGone => Reason is ConnectionEndReason.ClosedWithoutGoodbye or ConnectionEndReason.ConnectionRefused;

    public override string ToString() => $"{Reason} ({Peer}): {Detail}";
}
