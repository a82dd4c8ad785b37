namespace RnnCluster.DataPlane.AllReduce;

/// <summary>How gradients travel between the members of a <see cref="GradientGroup"/>.</summary>
public enum GradientCompression
{
    /// <summary>fp32 on the wire: the result is bit-identical to the in-process rank-order sum.</summary>
    None = 0,

    /// <summary>
    /// bfloat16 on the wire (half the bytes): every contribution and every all-gathered sum is rounded to
    /// bf16 (nearest, ties to even); the sum is accumulated in fp32 in rank order. Every member still ends
    /// with the same bits, which are the bf16 rounding of the rank-order sum of the bf16-rounded contributions.
    /// </summary>
    BFloat16 = 1,
}

/// <summary>Settings of a <see cref="GradientGroup"/>; <see cref="Validate"/> names the first bad one.</summary>
public sealed class AllReduceOptions
{
    /// <summary>Floats per bucket (4 MiB by default): each bucket is reduce-scattered and all-gathered on its own, so the sums of early buckets travel while later ones are still summed.</summary>
    public int BucketFloats { get; init; } = 1 << 20;

    public GradientCompression Compression { get; init; } = GradientCompression.None;

    /// <summary>No progress from a peer this long, while a call waits on it, abandons the group.</summary>
    public TimeSpan TransferTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// One connection per pair, dialled by the higher rank and used both ways (half the connections; the
    /// dialler's sends are masked as every WebSocket client's are). Off (the default): each member dials
    /// every other and sends only on the connections it accepted, so bulk data is never masked.
    /// </summary>
    public bool OneConnectionPerPair { get; init; }

    /// <summary>
    /// The longest <see cref="GradientGroup.FormAsync"/> waits for every member's connection (members may
    /// learn of a new generation at different times, so this is longer than the transfer timeout).
    /// </summary>
    public TimeSpan FormTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public AllReduceOptions Validate()
    {
        if (BucketFloats <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(BucketFloats), BucketFloats, $"{nameof(AllReduceOptions)}.{nameof(BucketFloats)} must be positive.");
        }

        if (!Enum.IsDefined(Compression))
        {
            throw new ArgumentOutOfRangeException(nameof(Compression), Compression, $"{nameof(AllReduceOptions)}.{nameof(Compression)} is not a known compression.");
        }

        if (TransferTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(TransferTimeout), TransferTimeout, $"{nameof(AllReduceOptions)}.{nameof(TransferTimeout)} must be positive.");
        }

        if (FormTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(FormTimeout), FormTimeout, $"{nameof(AllReduceOptions)}.{nameof(FormTimeout)} must be positive.");
        }

        return this;
    }
}
