namespace RnnCluster.Coordinator.Reports;

/// <summary>
/// Thins a long curve before drawing: a 100,000-step run has far more points than a chart has pixel
/// columns, and drawing (above all writing SVG) every one took tens of seconds and megabytes. The
/// points are cut into as many runs of equal length as there are buckets, and each run keeps its
/// lowest and highest point in step order, so spikes (a diverging step, a slow step) stay visible.
/// </summary>
public static class MinMaxThinning
{
    public static (double[] Xs, double[] Ys) Thin(IReadOnlyList<double> xs, IReadOnlyList<double> ys, int buckets)
    {
        ArgumentNullException.ThrowIfNull(xs);
        ArgumentNullException.ThrowIfNull(ys);
        ArgumentOutOfRangeException.ThrowIfNotEqual(ys.Count, xs.Count);
        ArgumentOutOfRangeException.ThrowIfLessThan(buckets, 1);
        if (xs.Count <= 2 * buckets)
        {
            return ([.. xs], [.. ys]);
        }

        var keptX = new List<double>(2 * buckets);
        var keptY = new List<double>(2 * buckets);
        for (var b = 0; b < buckets; b++)
        {
            var start = (int)((long)xs.Count * b / buckets);
            var end = (int)((long)xs.Count * (b + 1) / buckets);
            var (low, high) = (start, start);
            for (var i = start + 1; i < end; i++)
            {
                low = ys[i] < ys[low] ? i : low;
                high = ys[i] > ys[high] ? i : high;
            }

            foreach (var i in low == high ? [low] : new[] { Math.Min(low, high), Math.Max(low, high) })
            {
                keptX.Add(xs[i]);
                keptY.Add(ys[i]);
            }
        }

        return ([.. keptX], [.. keptY]);
    }
}
