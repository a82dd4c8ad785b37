using RnnCluster.DataPlane;

namespace RnnCluster.Tests.DataPlane;

public sealed class FrameLimitsTests
{
    [Fact]
    public void The_defaults_are_valid_with_one_mebibyte_frames()
    {
        var limits = FrameLimits.Default.Validate();

        Assert.Equal(1024 * 1024, limits.MaxFrameBytes);
    }

    [Theory]
    [InlineData(1023, 1L << 20, 1, nameof(FrameLimits.MaxFrameBytes))]
    [InlineData(4096, 4095L, 1, nameof(FrameLimits.MaxInFlightBytesPerPeer))]
    [InlineData(4096, 4096L, 0, nameof(FrameLimits.MaxConnections))]
    public void An_out_of_range_limit_is_refused_naming_the_field(int frame, long inFlight, int connections, string field)
    {
        var limits = new FrameLimits { MaxFrameBytes = frame, MaxInFlightBytesPerPeer = inFlight, MaxConnections = connections };

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => limits.Validate());

        Assert.Equal(field, error.ParamName);
    }

    [Fact]
    public void A_non_positive_abandon_timeout_is_refused()
    {
        var limits = FrameLimits.Default with { AbandonedTransferTimeout = TimeSpan.Zero };

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => limits.Validate());

        Assert.Equal(nameof(FrameLimits.AbandonedTransferTimeout), error.ParamName);
    }
}
