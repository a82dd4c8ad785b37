namespace RnnCluster.Cluster;

/// <summary>
/// The last <see cref="MaxSampleSize"/> heartbeat intervals (milliseconds) with running sums, so
/// mean and variance cost O(1) per heartbeat. Not thread-safe: its detector's owner serialises access.
/// </summary>
public sealed class HeartbeatHistory
{
    private readonly long[] _intervals;
    private int _next;
    private long _sum;
    private long _squaredSum;

    public HeartbeatHistory(int maxSampleSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSampleSize, 1);
        _intervals = new long[maxSampleSize];
    }

    public int MaxSampleSize => _intervals.Length;

    public int Count { get; private set; }

    /// <summary>Mean interval in milliseconds; NaN while empty.</summary>
    public double Mean => Count == 0 ? double.NaN : (double)_sum / Count;

    /// <summary>Population variance in ms²; never negative although the sums are subtracted.</summary>
    public double Variance
    {
        get
        {
            if (Count == 0)
            {
                return double.NaN;
            }

            var mean = Mean;
            return Math.Max(0, ((double)_squaredSum / Count) - (mean * mean));
        }
    }

    public double StdDeviation => Math.Sqrt(Variance);

    /// <summary>Adds an interval, evicting the oldest once the history is full.</summary>
    public void Add(long intervalMs)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(intervalMs);

        // Squares of intervals above ~3e9 ms (35 days) would overflow the long sum; no heartbeat gap
        // that long is meaningful, so it is refused instead of silently corrupting the statistics.
        ArgumentOutOfRangeException.ThrowIfGreaterThan(intervalMs, 3_000_000_000L);
        if (Count == _intervals.Length)
        {
            var oldest = _intervals[_next];
            _sum -= oldest;
            _squaredSum -= oldest * oldest;
        }
        else
        {
            Count++;
        }

        _intervals[_next] = intervalMs;
        _next = (_next + 1) % _intervals.Length;
        _sum += intervalMs;
        _squaredSum += intervalMs * intervalMs;
    }
}
