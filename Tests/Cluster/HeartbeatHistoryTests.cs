using RnnCluster.Cluster;

namespace RnnCluster.Tests.Cluster;

public sealed class HeartbeatHistoryTests
{
    [Fact]
    public void Mean_and_variance_are_over_the_samples_held()
    {
        var history = new HeartbeatHistory(10);
        history.Add(100);
        history.Add(200);
        history.Add(300);

        Assert.Equal(3, history.Count);
        Assert.Equal(200.0, history.Mean, 9);
        Assert.Equal(20_000.0 / 3, history.Variance, 9);
    }

    [Fact]
    public void The_oldest_sample_is_evicted_when_full()
    {
        var history = new HeartbeatHistory(2);
        history.Add(100);
        history.Add(200);
        history.Add(600);

        Assert.Equal(2, history.Count);
        Assert.Equal(400.0, history.Mean, 9);
        Assert.Equal(40_000.0, history.Variance, 9);
    }

    [Fact]
    public void A_thousand_samples_keep_the_count_at_the_maximum()
    {
        var history = new HeartbeatHistory(1000);
        for (var i = 0; i < 5000; i++)
        {
            history.Add(i % 2 == 0 ? 900 : 1100);
        }

        Assert.Equal(1000, history.Count);
        Assert.Equal(1000.0, history.Mean, 9);
        Assert.Equal(100.0, history.StdDeviation, 9);
    }

    [Fact]
    public void An_empty_history_has_no_statistics()
    {
        var history = new HeartbeatHistory(1);

        Assert.True(double.IsNaN(history.Mean));
        Assert.True(double.IsNaN(history.Variance));
    }

    [Fact]
    public void Negative_intervals_and_sizes_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new HeartbeatHistory(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new HeartbeatHistory(1).Add(-1));
    }
}
