namespace RnnCluster.Monitoring;

/// <summary>
/// A bounded series of points in columns (step, time, and <c>values</c> further columns), what the
/// dashboard charts. It never grows past its capacity: when full, every second point is dropped
/// (always keeping the newest), so a long run keeps its whole curve at half the resolution, then a
/// quarter, and recent points arrive at full resolution until the next halving. The columns are
/// allocated once, so appending never allocates. Not thread-safe: <see cref="RunMonitor"/> holds its
/// lock around every call.
/// </summary>
internal sealed class PointHistory
{
    private readonly long[] _steps;
    private readonly double[] _unix;
    private readonly double[][] _values;

    public PointHistory(int capacity, int values)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        _steps = new long[capacity];
        _unix = new double[capacity];
        _values = new double[values][];
        for (var i = 0; i < values; i++)
        {
            _values[i] = new double[capacity];
        }
    }

    public int Count { get; private set; }

    public int Capacity => _steps.Length;

    public void Add(long step, double unix, ReadOnlySpan<double> values)
    {
        if (Count == _steps.Length)
        {
            Halve();
        }

        _steps[Count] = step;
        _unix[Count] = unix;
        for (var i = 0; i < _values.Length; i++)
        {
            _values[i][Count] = values[i];
        }

        Count++;
    }

    /// <summary>A copy of the series: step column, time column and each value column.</summary>
    public HistoryColumns Copy()
    {
        var values = new double[_values.Length][];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = _values[i].AsSpan(0, Count).ToArray();
        }

        return new HistoryColumns(_steps.AsSpan(0, Count).ToArray(), _unix.AsSpan(0, Count).ToArray(), values);
    }

    /// <summary>Keeps the points an even distance from the newest: the newest, the third newest, ...</summary>
    private void Halve()
    {
        var first = (Count - 1) % 2;
        var kept = 0;
        for (var i = first; i < Count; i += 2)
        {
            _steps[kept] = _steps[i];
            _unix[kept] = _unix[i];
            foreach (var column in _values)
            {
                column[kept] = column[i];
            }

            kept++;
        }

        Count = kept;
    }
}

/// <summary>A copied series: <see cref="Values"/>[k][i] is value column k of point i.</summary>
public sealed record HistoryColumns(long[] Steps, double[] Unix, double[][] Values)
{
    public int Count => Steps.Length;
}
