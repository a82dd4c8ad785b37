using RnnCluster.DataPlane.Protocol;

namespace RnnCluster.DataPlane.Transport;

/// <summary>
/// Runs <see cref="HmacHandshake"/> over a fresh connection. Both sides do the same four steps (send
/// Handshake, read the peer's, send the proof, verify the peer's), so neither waits for the other to
/// speak first; any other frame before the peer's proof verified fails the handshake.
/// </summary>
internal static class WireHandshake
{
    /// <param name="admit">
    /// Asked about the identity the peer claims, after its opening message and before this side sends
    /// its proof; returns why the peer is refused, or null. Refusing before proving anything means a
    /// refused dialer learns it as the end of its handshake (it is still waiting for this side's proof),
    /// never as a connection that opened and then closed. An admitted claim must still pass the proof.
    /// </param>
    /// <exception cref="HandshakeFailedException">The peer closed, sent the wrong frame, or failed the proof.</exception>
    /// <exception cref="ProtocolViolationException">The peer sent bytes that are not a bounded Frame.</exception>
    /// <exception cref="PeerNotAdmittedException"><paramref name="admit"/> refused the peer.</exception>
    public static async Task<NodeIdentity> RunAsync(
        FrameSocket socket, HmacHandshake handshake, CancellationToken cancellationToken, Func<NodeIdentity, string?>? admit = null)
    {
        await socket.SendAsync(new Frame { Handshake = handshake.CreateHandshake() }, cancellationToken).ConfigureAwait(false);
        var opening = await ExpectAsync(socket, Frame.BodyOneofCase.Handshake, cancellationToken).ConfigureAwait(false);
        var reply = handshake.ReceiveHandshake(opening.Handshake);
        if (admit is not null)
        {
            var claimed = new NodeIdentity(opening.Handshake.NodeAddress, opening.Handshake.Incarnation);
            if (admit(claimed) is { } refusal)
            {
                throw new PeerNotAdmittedException(claimed, refusal);
            }
        }

        await socket.SendAsync(new Frame { HandshakeReply = reply }, cancellationToken).ConfigureAwait(false);
        var proof = await ExpectAsync(socket, Frame.BodyOneofCase.HandshakeReply, cancellationToken).ConfigureAwait(false);
        return handshake.VerifyReply(proof.HandshakeReply);
    }

    private static async Task<Frame> ExpectAsync(FrameSocket socket, Frame.BodyOneofCase expected, CancellationToken cancellationToken)
    {
        var frame = await socket.ReceiveAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new HandshakeFailedException($"The peer closed the connection before sending its {expected}.");
        if (frame.BodyCase != expected)
        {
            throw new HandshakeFailedException($"The peer sent a {frame.BodyCase} frame where its {expected} was due.");
        }

        return frame;
    }
}
