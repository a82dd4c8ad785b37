using RnnCluster.DataPlane.Transport;

namespace RnnCluster.Tests.DataPlane.Transport;

public sealed class ReconnectBackoffTests
{
    [Fact]
    public void Without_jitter_the_delay_doubles_from_the_minimum_up_to_the_maximum()
    {
        // NextDouble = 0.5 puts the jitter factor at exactly 1.
        var backoff = new ReconnectBackoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(700), 0.2, new FixedRandom(0.5));
        var delays = Enumerable.Range(0, 5).Select(_ => backoff.NextDelay().TotalMilliseconds).ToArray();
        Assert.Equal([100, 200, 400, 700, 700], delays);
    }

    [Fact]
    public void Jitter_scales_the_delay_within_its_bounds_and_never_past_the_maximum()
    {
        var low = new ReconnectBackoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), 0.2, new FixedRandom(0));
        var high = new ReconnectBackoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(110), 0.2, new FixedRandom(0.999999));
        Assert.Equal(80, low.NextDelay().TotalMilliseconds, precision: 3);
        Assert.Equal(110, high.NextDelay().TotalMilliseconds, precision: 3);
    }

    [Fact]
    public void Reset_starts_again_from_the_minimum()
    {
        var backoff = new ReconnectBackoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10), 0, new FixedRandom(0.9));
        backoff.NextDelay();
        backoff.NextDelay();
        Assert.Equal(2, backoff.Attempt);
        backoff.Reset();
        Assert.Equal(TimeSpan.FromMilliseconds(100), backoff.NextDelay());
    }

    [Fact]
    public void A_long_run_of_failures_stays_at_the_maximum()
    {
        var backoff = new ReconnectBackoff(TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(30), 0, new FixedRandom(0.5));
        for (var i = 0; i < 100; i++)
        {
            backoff.NextDelay();
        }

        Assert.Equal(TimeSpan.FromSeconds(30), backoff.NextDelay());
    }
}
