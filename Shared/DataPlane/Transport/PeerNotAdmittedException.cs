namespace RnnCluster.DataPlane.Transport;

/// <summary>A peer gate refused the identity a peer claimed during the handshake; <see cref="Reason"/> says why.</summary>
internal sealed class PeerNotAdmittedException(NodeIdentity peer, string reason)
    : Exception($"{peer} is not admitted: {reason}")
{
    public NodeIdentity Peer { get; } = peer;

    public string Reason { get; } = reason;
}
