namespace RnnCluster.Training;

/// <summary>
/// Dropout seed of one shard of one step. Masks depend only on what is computed, not on a replica's
/// history: a resumed run, a retried shard and a restarted worker draw exactly the masks they would have.
/// </summary>
public static class DropoutSeeds
{
    /// <summary>A SplitMix64 finaliser over the run seed, the step and the shard's first stream (or row).</summary>
    public static ulong For(ulong runSeed, long step, int firstStream)
    {
        var x = unchecked(runSeed ^ ((ulong)step * 0x9E3779B97F4A7C15UL) ^ ((ulong)firstStream * 0xC2B2AE3D27D4EB4FUL));
        x = unchecked((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL);
        x = unchecked((x ^ (x >> 27)) * 0x94D049BB133111EBUL);
        return x ^ (x >> 31);
    }
}
