using RnnCluster.Cluster;

namespace RnnCluster.Tests.Cluster;

public sealed class FailureDetectorOptionsTests
{
    [Fact]
    public void Defaults_are_akkas()
    {
        var options = new FailureDetectorOptions();

        Assert.Equal(8.0, options.Threshold);
        Assert.Equal(1000, options.MaxSampleSize);
        Assert.Equal(TimeSpan.FromMilliseconds(100), options.MinStdDeviation);
        Assert.Equal(TimeSpan.FromSeconds(3), options.AcceptableHeartbeatPause);
        Assert.Equal(TimeSpan.FromSeconds(1), options.HeartbeatInterval);
        Assert.Equal(TimeSpan.FromSeconds(1), options.FirstHeartbeatEstimate);
    }

    public static TheoryData<FailureDetectorOptions, string> InvalidOptions => new()
    {
        { new FailureDetectorOptions { Threshold = 0 }, "Threshold" },
        { new FailureDetectorOptions { Threshold = double.NaN }, "Threshold" },
        { new FailureDetectorOptions { MaxSampleSize = 0 }, "MaxSampleSize" },
        { new FailureDetectorOptions { MinStdDeviation = TimeSpan.Zero }, "MinStdDeviation" },
        { new FailureDetectorOptions { AcceptableHeartbeatPause = TimeSpan.FromSeconds(-1) }, "AcceptableHeartbeatPause" },
        { new FailureDetectorOptions { HeartbeatInterval = TimeSpan.Zero }, "HeartbeatInterval" },
        { new FailureDetectorOptions { FirstHeartbeatEstimate = TimeSpan.FromTicks(1) }, "FirstHeartbeatEstimate" },
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void An_invalid_option_is_named_in_the_error(FailureDetectorOptions options, string name)
    {
        var error = Assert.Throws<ArgumentException>(() => new PhiAccrualFailureDetector(options));

        Assert.Equal(name, error.ParamName);
        Assert.StartsWith($"FailureDetectorOptions.{name} must be", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_zero_acceptable_pause_is_allowed()
    {
        var detector = new PhiAccrualFailureDetector(new FailureDetectorOptions { AcceptableHeartbeatPause = TimeSpan.Zero });
        for (var i = 0; i < 20; i++)
        {
            detector.Heartbeat(i * 1000L);
        }

        Assert.False(detector.IsAvailable(19_000 + 1_523));
        Assert.True(detector.IsAvailable(19_000 + 1_522));
    }
}
