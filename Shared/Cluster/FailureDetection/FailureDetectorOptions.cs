namespace RnnCluster.Cluster;

/// <summary>
/// Settings of <see cref="PhiAccrualFailureDetector"/>. The defaults are Akka's
/// (<c>akka.cluster.failure-detector</c>), so operators who know Akka get the same detection time.
/// </summary>
public sealed record FailureDetectorOptions
{
    /// <summary>Phi at or above which the node is suspected. Low detects sooner but suspects falsely more often.</summary>
    public double Threshold { get; init; } = 8.0;

    /// <summary>How many recent heartbeat intervals the mean and deviation are computed over.</summary>
    public int MaxSampleSize { get; init; } = 1000;

    /// <summary>
    /// Floor of the standard deviation: perfectly regular heartbeats would otherwise make a few
    /// milliseconds of jitter look like a failure.
    /// </summary>
    public TimeSpan MinStdDeviation { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Silence tolerated on top of the expected interval (GC pauses, a lost heartbeat or two).</summary>
    public TimeSpan AcceptableHeartbeatPause { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How often the monitored node sends heartbeats (used by the sender, not by phi).</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Interval assumed before any has been measured, so that a node which sent only one
    /// heartbeat still becomes unavailable. Akka seeds it with the heartbeat interval.
    /// </summary>
    public TimeSpan FirstHeartbeatEstimate { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option and its value.</summary>
    public void Validate()
    {
        if (!double.IsFinite(Threshold) || Threshold <= 0)
        {
            throw Invalid(nameof(Threshold), Threshold.ToString(System.Globalization.CultureInfo.InvariantCulture), "a finite number > 0");
        }

        if (MaxSampleSize < 1)
        {
            throw Invalid(nameof(MaxSampleSize), MaxSampleSize.ToString(System.Globalization.CultureInfo.InvariantCulture), ">= 1");
        }

        RequirePositiveMilliseconds(MinStdDeviation, nameof(MinStdDeviation));
        if (AcceptableHeartbeatPause < TimeSpan.Zero)
        {
            throw Invalid(nameof(AcceptableHeartbeatPause), AcceptableHeartbeatPause.ToString(), ">= 0");
        }

        RequirePositiveMilliseconds(HeartbeatInterval, nameof(HeartbeatInterval));
        RequirePositiveMilliseconds(FirstHeartbeatEstimate, nameof(FirstHeartbeatEstimate));
    }

    // Intervals are measured in whole milliseconds, so anything below 1 ms would round to zero.
    private static void RequirePositiveMilliseconds(TimeSpan value, string name)
    {
        if (value < TimeSpan.FromMilliseconds(1))
        {
            throw Invalid(name, value.ToString(), ">= 1 ms");
        }
    }

    private static ArgumentException Invalid(string name, string value, string expected) =>
        new($"FailureDetectorOptions.{name} must be {expected}, got {value}.", name);
}
