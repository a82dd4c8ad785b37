namespace RnnCluster.Training.Parallel;

/// <summary>One worker's contiguous range of streams.</summary>
public sealed record Shard(int WorkerIndex, int FirstStream, int StreamCount);

/// <summary>
/// Splits the global batch's streams into contiguous ranges, one per live worker in index order,
/// sizes differing by at most one (the first ranges get the extra streams). Workers beyond the
/// stream count get nothing. Contiguous ranges keep each shard's ids and states contiguous.
/// </summary>
public static class ShardPlan
{
    public static IReadOnlyList<Shard> Plan(int streams, IReadOnlyList<int> workerIndices)
    {
        ArgumentNullException.ThrowIfNull(workerIndices);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(streams);
        if (workerIndices.Count == 0)
        {
            throw new ArgumentException("at least one worker is needed", nameof(workerIndices));
        }

        var used = Math.Min(streams, workerIndices.Count);
        var shards = new List<Shard>(used);
        var first = 0;
        for (var i = 0; i < used; i++)
        {
            var count = (streams / used) + (i < streams % used ? 1 : 0);
            shards.Add(new Shard(workerIndices[i], first, count));
            first += count;
        }

        return shards;
    }
}
