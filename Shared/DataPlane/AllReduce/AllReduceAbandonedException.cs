namespace RnnCluster.DataPlane.AllReduce;

/// <summary>Why a <see cref="GradientGroup"/> gave up.</summary>
public enum AbandonReason
{
    /// <summary>The data-plane connection to the peer ended (its process died, it closed, or its transport refused a frame).</summary>
    ConnectionEnded = 1,

    /// <summary>The peer made no progress for <see cref="AllReduceOptions.TransferTimeout"/> (or did not join within <see cref="AllReduceOptions.FormTimeout"/>).</summary>
    Timeout = 2,

    /// <summary>The peer sent a frame that does not fit the collective (wrong layout, sender or kind), or one its connection refused (a failed checksum, a truncated chunk).</summary>
    BadFrame = 3,

    /// <summary>The peer refused this member's hello (a stale generation, an unknown run).</summary>
    Refused = 4,

    /// <summary>This member cancelled a call mid-transfer or disposed the group: the peer named is this member itself.</summary>
    Local = 5,
}

/// <summary>
/// The group can no longer reduce: a peer is gone, silent or misbehaving. Every pending and later call
/// of the group throws this; the caller forms a new generation. Names the peer, the generation and step,
/// and why.
/// </summary>
public sealed class AllReduceAbandonedException : Exception
{
    public AllReduceAbandonedException()
        : this("The all-reduce group was abandoned.")
    {
    }

    public AllReduceAbandonedException(string message)
        : base(message)
    {
        Detail = message;
    }

    public AllReduceAbandonedException(string message, Exception innerException)
        : base(message, innerException)
    {
        Detail = message;
    }

    public AllReduceAbandonedException(int peerRank, NodeIdentity peer, int generation, long step, AbandonReason reason, string detail, Exception? innerException = null)
        : base($"All-reduce group of generation {generation} abandoned at step {step}: peer rank {peerRank} ({peer}), {Describe(reason)}: {detail}", innerException)
    {
        PeerRank = peerRank;
        Peer = peer;
        Generation = generation;
        Step = step;
        Reason = reason;
        Detail = detail;
    }

    /// <summary>The rank of the peer that caused it (this member's own rank for <see cref="AbandonReason.Local"/>); -1 when unknown.</summary>
    public int PeerRank { get; } = -1;

    public NodeIdentity? Peer { get; }

    public int Generation { get; }

    /// <summary>The latest step a call of the group had started (-1 when none had, as while forming).</summary>
    public long Step { get; }

    public AbandonReason Reason { get; }

    public string Detail { get; }

    /// <summary>A fresh exception with the same facts, so each failing call throws its own object (a shared one would mix their stack traces).</summary>
    internal AllReduceAbandonedException Copy() =>
        Peer is null ? new AllReduceAbandonedException(Message, this) : new AllReduceAbandonedException(PeerRank, Peer, Generation, Step, Reason, Detail, this);

    private static string Describe(AbandonReason reason) => reason switch
    {
        AbandonReason.ConnectionEnded => "connection ended",
        AbandonReason.Timeout => "timeout",
        AbandonReason.BadFrame => "bad frame",
        AbandonReason.Refused => "refused",
        AbandonReason.Local => "ended on this member",
        _ => reason.ToString(),
    };
}
