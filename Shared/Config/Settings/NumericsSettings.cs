namespace RnnCluster.Config;

/// <summary>
/// <c>training.numerics.*</c>: what a step whose loss or gradient is non-finite, or whose loss spikes,
/// does to the run (skip it; after several in a row roll back to the newest checkpoint and skip the data
/// range that caused them). See docs/numerics.md.
/// </summary>
public sealed record NumericsSettings
{
    public static NumericsSettings Default { get; } = new();

    /// <summary>Skipped steps in a row that roll the run back to its newest checkpoint; 0 = never roll back (skip only).</summary>
    public int MaxConsecutiveSkips { get; init; } = 5;

    /// <summary>A loss above this many times the running median of applied steps is a spike; 0 = no spike detection.</summary>
    public double SpikeFactor { get; init; } = 3.0;

    /// <summary>Applied steps in the running median; spike detection starts once this many are in.</summary>
    public int SpikeWindow { get; init; } = 100;

    /// <summary>A loss at or below this (nats per target) is never a spike, whatever the median.</summary>
    public double SpikeMinLoss { get; init; } = 1.0;

    public static NumericsSettings Bind(ConfigSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var settings = new NumericsSettings
        {
            MaxConsecutiveSkips = section.GetInt("max-consecutive-skips", Default.MaxConsecutiveSkips, ValueRange.NonNegative),
            SpikeFactor = section.GetDouble("spike-factor", Default.SpikeFactor, ValueRange.NonNegative),
            SpikeWindow = section.GetInt("spike-window", Default.SpikeWindow, ValueRange.AtLeast(1)),
            SpikeMinLoss = section.GetDouble("spike-min-loss", Default.SpikeMinLoss, ValueRange.NonNegative),
        };
        if (settings.SpikeFactor is > 0 and <= 1)
        {
            // A factor of 1 or less flags half of all ordinary steps (those above the median).
            throw section.Error("spike-factor", "must be 0 (off) or greater than 1");
        }

        return settings;
    }

    public void Write(HoconWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write("max-consecutive-skips", MaxConsecutiveSkips);
        writer.Write("spike-factor", SpikeFactor);
        writer.Write("spike-window", SpikeWindow);
        writer.Write("spike-min-loss", SpikeMinLoss);
    }
}
