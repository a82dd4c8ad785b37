namespace RnnCluster.DataPlane;

/// <summary>
/// A peer went over one of the <see cref="FrameLimits"/>. The connection cannot continue: the caller
/// closes it (the peer is either broken or hostile, and buffering more would only move the problem).
/// </summary>
public sealed class FrameLimitExceededException(string limitName, long limit, long attempted, string peer)
    : Exception($"Peer '{peer}' exceeded {limitName} = {limit} bytes (would need {attempted}).")
{
    public string LimitName { get; } = limitName;

    public long Limit { get; } = limit;

    public long Attempted { get; } = attempted;

    public string Peer { get; } = peer;
}

/// <summary>A reassembled payload's checksum differs from the one its last chunk declared.</summary>
public sealed class ChunkIntegrityException(ulong transferId, string peer)
    : Exception($"Transfer {transferId} from peer '{peer}' failed its checksum; the payload is discarded.")
{
    public ulong TransferId { get; } = transferId;
}

/// <summary>A chunk broke the chunking rules (index out of range, inconsistent counts or lengths).</summary>
public sealed class ChunkProtocolException(ulong transferId, string peer, string reason)
    : Exception($"Transfer {transferId} from peer '{peer}': {reason}")
{
    public ulong TransferId { get; } = transferId;
}

/// <summary>The peer did not prove knowledge of the cluster secret, or broke the handshake sequence.</summary>
public sealed class HandshakeFailedException(string message) : Exception(message);

/// <summary>
/// The cluster secret could not be loaded. Raised at startup, naming the file or environment variable,
/// because a node without the secret must not start (there is no unauthenticated fallback).
/// </summary>
public sealed class ClusterSecretException(string message, Exception? inner = null) : Exception(message, inner);
