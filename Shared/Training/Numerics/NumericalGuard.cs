using RnnCluster.Config;

namespace RnnCluster.Training.Numerics;

/// <summary>
/// Judges each step from its mean loss and global gradient norm before the optimizer may step: a NaN or
/// infinite value, or a loss above <c>spike-factor</c> × the median loss of the last <c>spike-window</c>
/// applied steps, is a bad step (skipped); <c>max-consecutive-skips</c> bad steps in a row call for a
/// rollback. Pure and clock-free: the coordinator decides from the reduced loss and norm, so every replica
/// follows the same decision through its commit.
/// </summary>
public sealed class NumericalGuard(NumericsSettings settings)
{
    public StepVerdict Judge(NumericsHistory history, double loss, double norm)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (!double.IsFinite(loss) || !double.IsFinite(norm))
        {
            return StepVerdict.NonFinite;
        }

        return IsSpike(history, loss) ? StepVerdict.Spike : StepVerdict.Apply;
    }

    /// <summary>Records the verdict; true when it makes <c>max-consecutive-skips</c> bad steps in a row (roll back now).</summary>
    public bool Record(NumericsHistory history, StepVerdict verdict, double loss)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (verdict == StepVerdict.Apply)
        {
            history.ConsecutiveSkips = 0;
            history.AddLoss(loss, settings.SpikeWindow);
            return false;
        }

        history.ConsecutiveSkips++;
        return settings.MaxConsecutiveSkips > 0 && history.ConsecutiveSkips >= settings.MaxConsecutiveSkips;
    }

    /// <summary>The spike threshold now, or null while detection is off or warming up.</summary>
    public double? Threshold(NumericsHistory history)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (settings.SpikeFactor <= 0 || history.RecentLosses.Count < settings.SpikeWindow)
        {
            return null;
        }

        return Math.Max(settings.SpikeMinLoss, settings.SpikeFactor * Median(history.RecentLosses));
    }

    private bool IsSpike(NumericsHistory history, double loss) => Threshold(history) is { } threshold && loss > threshold;

    private static double Median(IReadOnlyCollection<double> values)
    {
        var sorted = values.ToArray();
        Array.Sort(sorted);
        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}
