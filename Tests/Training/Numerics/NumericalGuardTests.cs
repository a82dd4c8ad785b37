using RnnCluster.Config;
using RnnCluster.Training.Numerics;

namespace RnnCluster.Tests.Training.Numerics;

public sealed class NumericalGuardTests
{
    private static readonly NumericsSettings Settings = new() { MaxConsecutiveSkips = 3, SpikeFactor = 3, SpikeWindow = 4, SpikeMinLoss = 1 };

    [Theory]
    [InlineData(double.NaN, 1.0)]
    [InlineData(2.0, double.NaN)]
    [InlineData(double.PositiveInfinity, 1.0)]
    [InlineData(2.0, double.NegativeInfinity)]
    public void A_non_finite_loss_or_norm_is_a_bad_step_even_before_the_spike_window_fills(double loss, double norm) =>
        Assert.Equal(StepVerdict.NonFinite, new NumericalGuard(Settings).Judge(new NumericsHistory(), loss, norm));

    [Fact]
    public void Spikes_are_judged_against_the_median_of_the_last_window_of_applied_losses_once_it_is_full()
    {
        var guard = new NumericalGuard(Settings);
        var history = new NumericsHistory();
        foreach (var loss in new[] { 9.0, 2.0, 2.5, 3.0 })
        {
            Assert.Null(guard.Threshold(history));
            Assert.Equal(StepVerdict.Apply, guard.Judge(history, 100, 1));
            guard.Record(history, StepVerdict.Apply, loss);
        }

        // Median of {9, 2, 2.5, 3} is 2.75: the threshold is 8.25.
        Assert.Equal(8.25, guard.Threshold(history));
        Assert.Equal(StepVerdict.Apply, guard.Judge(history, 8.25, 1));
        Assert.Equal(StepVerdict.Spike, guard.Judge(history, 8.26, 1));

        // The window slides: 9 leaves, the median of {2, 2.5, 3, 1} is 2.25.
        guard.Record(history, StepVerdict.Apply, 1);
        Assert.Equal(6.75, guard.Threshold(history));
    }

    [Fact]
    public void A_loss_at_or_below_the_minimum_is_never_a_spike_and_a_factor_of_zero_turns_detection_off()
    {
        var guard = new NumericalGuard(Settings);
        var history = new NumericsHistory();
        foreach (var loss in new[] { 0.01, 0.01, 0.01, 0.01 })
        {
            guard.Record(history, StepVerdict.Apply, loss);
        }

        Assert.Equal(1.0, guard.Threshold(history));
        Assert.Equal(StepVerdict.Apply, guard.Judge(history, 0.9, 1));
        Assert.Equal(StepVerdict.Spike, guard.Judge(history, 1.1, 1));
        Assert.Null(new NumericalGuard(Settings with { SpikeFactor = 0 }).Threshold(history));
    }

    [Fact]
    public void The_max_consecutive_skips_th_bad_step_in_a_row_calls_for_a_rollback_and_an_applied_step_resets_the_count()
    {
        var guard = new NumericalGuard(Settings);
        var history = new NumericsHistory();
        Assert.False(guard.Record(history, StepVerdict.NonFinite, double.NaN));
        Assert.False(guard.Record(history, StepVerdict.Spike, 50));
        Assert.False(guard.Record(history, StepVerdict.Apply, 2));
        Assert.Equal(0, history.ConsecutiveSkips);
        Assert.False(guard.Record(history, StepVerdict.NonFinite, double.NaN));
        Assert.False(guard.Record(history, StepVerdict.NonFinite, double.NaN));
        Assert.True(guard.Record(history, StepVerdict.Spike, 50));
        Assert.Equal([2.0], history.RecentLosses);
        Assert.False(new NumericalGuard(Settings with { MaxConsecutiveSkips = 0 }).Record(history, StepVerdict.NonFinite, double.NaN));
    }

    [Theory]
    [InlineData("training.numerics.spike-factor = 0.5", "training.numerics.spike-factor = 0.5 at bad.hocon:1: must be 0 (off) or greater than 1")]
    [InlineData("training.numerics.spike-factor = 1", "training.numerics.spike-factor")]
    [InlineData("training.numerics.max-consecutive-skips = -1", "training.numerics.max-consecutive-skips")]
    [InlineData("training.numerics.spike-window = 0", "training.numerics.spike-window")]
    [InlineData("training.numerics.spike-min-loss = -1", "training.numerics.spike-min-loss")]
    [InlineData("training.numerics.spike-windw = 5", "training.numerics.spike-windw")]
    public void Bad_numerics_settings_name_the_key(string hocon, string named)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadText(hocon, "bad.hocon", []));
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_defaults_skip_roll_back_after_five_and_detect_threefold_spikes_over_a_hundred_steps()
    {
        var numerics = ConfigLoader.LoadText("", "empty.hocon", []).Training.Numerics;
        Assert.Equal(new NumericsSettings { MaxConsecutiveSkips = 5, SpikeFactor = 3, SpikeWindow = 100, SpikeMinLoss = 1 }, numerics);
        var set = ConfigLoader.LoadText("training.numerics { max-consecutive-skips = 0, spike-factor = 0 }", "off.hocon", []).Training.Numerics;
        Assert.Equal((0, 0.0), (set.MaxConsecutiveSkips, set.SpikeFactor));
    }
}
