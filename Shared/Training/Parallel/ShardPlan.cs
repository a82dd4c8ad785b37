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

    /// <summary>
    /// Like <see cref="Plan"/>, but each worker's share follows its speed (streams per second it computed
    /// lately): shares by largest remainder, every worker at least one stream while there are enough, ties
    /// to the lower index. Deterministic for the same speeds.
    /// </summary>
    public static IReadOnlyList<Shard> Weighted(int streams, IReadOnlyList<int> workerIndices, IReadOnlyList<double> speeds)
    {
        ArgumentNullException.ThrowIfNull(workerIndices);
        ArgumentNullException.ThrowIfNull(speeds);
        if (speeds.Count != workerIndices.Count || speeds.Any(v => !double.IsFinite(v) || v <= 0))
        {
            throw new ArgumentException("one positive, finite speed per worker is needed", nameof(speeds));
        }

        if (workerIndices.Count > streams)
        {
            return Plan(streams, workerIndices);
        }

        var n = workerIndices.Count;
        var spare = streams - n; // one stream each first, the rest by speed
        var total = speeds.Sum();
        var counts = new int[n];
        var remainders = new double[n];
        for (var i = 0; i < n; i++)
        {
            var exact = spare * speeds[i] / total;
            counts[i] = 1 + (int)Math.Floor(exact);
            remainders[i] = exact - Math.Floor(exact);
        }

        var left = streams - counts.Sum();
        foreach (var i in Enumerable.Range(0, n).OrderByDescending(i => remainders[i]).ThenBy(i => i).Take(left))
        {
            counts[i]++;
        }

        var shards = new List<Shard>(n);
        var first = 0;
        for (var i = 0; i < n; i++)
        {
            shards.Add(new Shard(workerIndices[i], first, counts[i]));
            first += counts[i];
        }

        return shards;
    }
}
