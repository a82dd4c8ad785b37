namespace RnnCluster.DataPlane;

/// <summary>
/// Bounds on what one peer may make this node hold. They exist so a broken or hostile peer costs a
/// closed connection, never the node's memory.
/// </summary>
public sealed record FrameLimits
{
    /// <summary>Below this a chunk would be mostly header (see <see cref="ChunkWriter.MaxChunkOverhead"/>).</summary>
    public const int MinFrameBytes = 1024;

    public static FrameLimits Default { get; } = new();

    /// <summary>Largest serialized <c>Frame</c>, header included. Larger payloads are chunked.</summary>
    public int MaxFrameBytes { get; init; } = 1024 * 1024;

    /// <summary>Bytes of incomplete transfers buffered for one peer at any time.</summary>
    public long MaxInFlightBytesPerPeer { get; init; } = 256L * 1024 * 1024;

    /// <summary>Open connections a node accepts.</summary>
    public int MaxConnections { get; init; } = 64;

    /// <summary>An incomplete transfer that received no chunk for this long is dropped and its memory freed.</summary>
    public TimeSpan AbandonedTransferTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Throws naming the first field out of range; returns this so construction sites can chain.</summary>
    public FrameLimits Validate()
    {
        if (MaxFrameBytes < MinFrameBytes)
        {
            throw new ArgumentOutOfRangeException(
                nameof(MaxFrameBytes), MaxFrameBytes, $"{nameof(MaxFrameBytes)} must be at least {MinFrameBytes}.");
        }

        // A transfer needs room for at least one full frame, or nothing large could ever arrive.
        if (MaxInFlightBytesPerPeer < MaxFrameBytes)
        {
            throw new ArgumentOutOfRangeException(
                nameof(MaxInFlightBytesPerPeer),
                MaxInFlightBytesPerPeer,
                $"{nameof(MaxInFlightBytesPerPeer)} must be at least {nameof(MaxFrameBytes)} ({MaxFrameBytes}).");
        }

        if (MaxConnections < 1)
        {
            throw new ArgumentOutOfRangeException(
                nameof(MaxConnections), MaxConnections, $"{nameof(MaxConnections)} must be at least 1.");
        }

        if (AbandonedTransferTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(
                nameof(AbandonedTransferTimeout),
                AbandonedTransferTimeout,
                $"{nameof(AbandonedTransferTimeout)} must be positive.");
        }

        return this;
    }
}
