using System.Globalization;

namespace RnnCluster.Tests.Support;

/// <summary>
/// The one place where test timeouts are scaled. Set <c>RNNCLUSTER_TEST_TIMEFACTOR</c> (e.g. 3) on slow
/// or loaded machines; every default timeout and every <see cref="Dilated"/> duration grows by it.
/// </summary>
public static class TestKitSettings
{
    public const string TimeFactorVariable = "RNNCLUSTER_TEST_TIMEFACTOR";

    private static readonly Lazy<double> s_timeFactor =
        new(() => ParseTimeFactor(Environment.GetEnvironmentVariable(TimeFactorVariable)));

    /// <exception cref="InvalidOperationException">The variable is set but is not a positive number.</exception>
    public static double TimeFactor => s_timeFactor.Value;

    /// <summary>3 s, dilated: the default for every expectation.</summary>
    public static TimeSpan DefaultTimeout => Dilated(TimeSpan.FromSeconds(3));

    /// <summary>300 ms, dilated: how long <c>ExpectNoMsgAsync</c> listens by default.</summary>
    public static TimeSpan DefaultNoMessageDuration => Dilated(TimeSpan.FromMilliseconds(300));

    public static TimeSpan Dilated(TimeSpan duration) =>
        duration == Timeout.InfiniteTimeSpan ? duration : TimeSpan.FromTicks(checked((long)(duration.Ticks * TimeFactor)));

    /// <summary>Parses a time factor; unset or empty means 1.</summary>
    public static double ParseTimeFactor(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return 1.0;
        }

        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var factor)
            && double.IsFinite(factor) && factor > 0)
        {
            return factor;
        }

        throw new InvalidOperationException(
            $"{TimeFactorVariable} must be a positive number such as 2 or 1.5 (invariant culture); got '{value}'.");
    }
}
