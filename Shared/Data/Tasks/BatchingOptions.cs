namespace RnnCluster.Data.Tasks;

/// <summary>How <see cref="BucketBatcher"/> cuts a split into batches.</summary>
public sealed record BatchingOptions
{
    /// <summary>Examples per batch (B), across all workers.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>
    /// Batches per sorting pool (K): the shuffled examples are taken K×B at a time, sorted by length
    /// and cut into batches. K = 1 is random batching; larger K means less padding but batches whose
    /// lengths are more alike, hence a less random order of lengths within the epoch.
    /// </summary>
    public int PoolBatches { get; init; } = 50;

    /// <summary>Longest source (and encoder–decoder target) in tokens, not counting &lt;bos&gt;/&lt;eos&gt;; 0 = no limit.</summary>
    public int MaxLength { get; init; }

    public MaxLengthPolicy MaxLengthPolicy { get; init; } = MaxLengthPolicy.Truncate;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1, nameof(BatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(PoolBatches, 1, nameof(PoolBatches));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxLength, nameof(MaxLength));
    }
}
