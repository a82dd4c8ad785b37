namespace RnnCluster.DataPlane.AllReduce;

/// <summary>
/// How a buffer is cut: into buckets of <c>bucketFloats</c>, and each bucket into <c>size</c> contiguous
/// shards, shard r owned by rank r (the first ranks' shards are the shorter when it does not divide;
/// with more ranks than floats some shards are empty, and nothing travels for them). Every member
/// computes the same cut from the buffer length, so a frame's place is checked, not trusted.
/// </summary>
internal readonly record struct ReduceLayout(int Length, int BucketFloats, int Size)
{
    public int Buckets => (int)(((long)Length + BucketFloats - 1) / BucketFloats);

    /// <summary>Where in the buffer rank <paramref name="rank"/>'s shard of bucket <paramref name="bucket"/> lies.</summary>
    public (int Start, int Length) Shard(int bucket, int rank)
    {
        var start = (long)bucket * BucketFloats;
        var length = Math.Min(BucketFloats, Length - start);
        var lo = length * rank / Size;
        var hi = length * (rank + 1) / Size;
        return ((int)(start + lo), (int)(hi - lo));
    }

    /// <summary>Buckets in which <paramref name="rank"/>'s shard is not empty.</summary>
    public int BucketsWithShard(int rank)
    {
        var count = 0;
        for (var b = 0; b < Buckets; b++)
        {
            if (Shard(b, rank).Length > 0)
            {
                count++;
            }
        }

        return count;
    }
}
