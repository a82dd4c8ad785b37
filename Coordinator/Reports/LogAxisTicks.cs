namespace RnnCluster.Coordinator.Reports;

/// <summary>
/// Tick values for a log axis. Losses often span less than one decade (4.6 down to 2.1), where ticks
/// at the powers of ten alone would leave the axis bare and evenly spaced log ticks give labels such
/// as 3.98; so the ticks are round values (1, 2, 5 × 10^k, then finer mantissas) chosen to give a
/// handful within the range.
/// </summary>
public static class LogAxisTicks
{
    private static readonly double[][] Mantissas =
    [
        [1],
        [1, 2, 5],
        [1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9],
        [.. Enumerable.Range(10, 90).Select(m => m / 10.0)],
    ];

    /// <summary>Between <paramref name="fewest"/> and about twice that many round values within [min, max] (both &gt; 0), ascending.</summary>
    public static IReadOnlyList<double> For(double min, double max, int fewest = 4)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(min);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, min);
        IReadOnlyList<double> ticks = [];
        foreach (var mantissas in Mantissas)
        {
            ticks = Candidates(min, max, mantissas);
            if (ticks.Count >= fewest)
            {
                break;
            }
        }

        // Wide ranges give too many at the finer sets only when a coarser one had too few; thin evenly.
        var stride = Math.Max(1, ticks.Count / (2 * fewest));
        return [.. ticks.Where((_, i) => i % stride == 0)];
    }

    private static List<double> Candidates(double min, double max, double[] mantissas)
    {
        var values = new List<double>();
        for (var exponent = (int)Math.Floor(Math.Log10(min)); exponent <= (int)Math.Ceiling(Math.Log10(max)); exponent++)
        {
            foreach (var m in mantissas)
            {
                // Round to the mantissa's precision so 0.3 is 0.3, not 0.30000000000000004.
                var v = Math.Round(m * Math.Pow(10, exponent), Math.Max(0, 2 - exponent));
                if (v >= min && v <= max)
                {
                    values.Add(v);
                }
            }
        }

        return values;
    }
}
