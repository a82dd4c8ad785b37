namespace RnnCluster.DataPlane.Tensors;

/// <summary>
/// How a tensor connection moves payloads to a peer on the same host: each sending side makes a ring of
/// <see cref="RingBytes"/> in <see cref="Directory"/> and offers it; a peer that can open it (same host,
/// user and namespaces) takes payloads of at least <see cref="MinPayloadBytes"/> from it, and everything
/// else, including every header, still goes over the socket in order. A full ring sends inline; a ring
/// that cannot be made or opened leaves the connection on the socket alone.
/// </summary>
public sealed record SharedMemoryOptions
{
    /// <summary>A directory on a memory file system (its file is deleted as soon as it is open).</summary>
    public string Directory { get; init; } = "/dev/shm";

    /// <summary>Payload bytes of each sending side's ring; a payload larger than this goes inline.</summary>
    public long RingBytes { get; init; } = 16L * 1024 * 1024;

    /// <summary>Smaller payloads go inline: for them the copy is cheap and the socket carries the header anyway.</summary>
    public int MinPayloadBytes { get; init; } = 32 * 1024;

    public SharedMemoryOptions Validate()
    {
        if (string.IsNullOrWhiteSpace(Directory))
        {
            throw new ArgumentOutOfRangeException(nameof(Directory), Directory, $"{nameof(SharedMemoryOptions)}.{nameof(Directory)} must be set.");
        }

        if (RingBytes is < SharedRing.MinCapacity or > SharedRing.MaxCapacity)
        {
            throw new ArgumentOutOfRangeException(nameof(RingBytes), RingBytes, $"{nameof(SharedMemoryOptions)}.{nameof(RingBytes)} must be in [{SharedRing.MinCapacity}, {SharedRing.MaxCapacity}].");
        }

        if (MinPayloadBytes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MinPayloadBytes), MinPayloadBytes, $"{nameof(SharedMemoryOptions)}.{nameof(MinPayloadBytes)} must be >= 0.");
        }

        return this;
    }
}
