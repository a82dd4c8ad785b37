namespace RnnCluster.Monitoring;

/// <summary>
/// A bounded series of points in columns (step, time, and <c>values</c> further columns), what the
/// dashboard charts. It never holds more than its capacity: when full, every second point is dropped and
/// from then on only every second point offered is kept (every fourth after the next halving, ...), so the
/// kept points stay evenly spaced over the whole run. The newest point offered is always part of a copy.
/// The columns are allocated once, so adding never allocates. Not thread-safe: <see cref="RunMonitor"/>
/// holds its lock around every call.
/// </summary>
internal sealed class PointHistory
{
    private readonly long[] _steps;
    private readonly double[] _unix;
    private readonly double[][] _values;
    private readonly double[] _newestValues;
    private long _offered;
    private long _stride = 1;
    private long _newestStep;
    private double _newestUnix;
    private bool _newestKept = true;

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

        _newestValues = new double[values];
    }

    /// <summary>Points a copy holds now: the kept ones and, when it was not kept, the newest.</summary>
    public int Count => _stored + (_newestKept ? 0 : 1);

    private int _stored;

    public int Capacity => _steps.Length;

    public void Add(long step, double unix, ReadOnlySpan<double> values)
    {
        var index = _offered++;
        _newestStep = step;
        _newestUnix = unix;
        values[.._newestValues.Length].CopyTo(_newestValues);
        _newestKept = false;
        if (index % _stride != 0)
        {
            return;
        }

        // One slot stays free for the newest point, which a copy adds when it was not kept.
        if (_stored == _steps.Length - 1)
        {
            Halve();
            if (index % _stride != 0)
            {
                return;
            }
        }

        _steps[_stored] = step;
        _unix[_stored] = unix;
        for (var i = 0; i < _values.Length; i++)
        {
            _values[i][_stored] = values[i];
        }

        _stored++;
        _newestKept = true;
    }

    /// <summary>A copy of the series: step column, time column and each value column.</summary>
    public HistoryColumns Copy()
    {
        var count = Count;
        var steps = new long[count];
        var unix = new double[count];
        var values = new double[_values.Length][];
        _steps.AsSpan(0, _stored).CopyTo(steps);
        _unix.AsSpan(0, _stored).CopyTo(unix);
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = new double[count];
            _values[i].AsSpan(0, _stored).CopyTo(values[i]);
        }

        if (!_newestKept)
        {
            steps[^1] = _newestStep;
            unix[^1] = _newestUnix;
            for (var i = 0; i < values.Length; i++)
            {
                values[i][^1] = _newestValues[i];
            }
        }

        return new HistoryColumns(steps, unix, values);
    }

    /// <summary>Keeps every second point from the first (offered index 0, 2s, 4s, ...) and doubles the stride.</summary>
    private void Halve()
    {
        var kept = 0;
        for (var i = 0; i < _stored; i += 2)
        {
            _steps[kept] = _steps[i];
            _unix[kept] = _unix[i];
            foreach (var column in _values)
            {
                column[kept] = column[i];
            }

            kept++;
        }

        _stored = kept;
        _stride *= 2;
    }
}

/// <summary>A copied series: <see cref="Values"/>[k][i] is value column k of point i.</summary>
public sealed record HistoryColumns(long[] Steps, double[] Unix, double[][] Values)
{
    public int Count => Steps.Length;
}
