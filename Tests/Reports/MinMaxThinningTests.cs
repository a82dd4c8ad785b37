using RnnCluster.Coordinator.Reports;

namespace RnnCluster.Tests.Reports;

public sealed class MinMaxThinningTests
{
    [Fact]
    public void A_short_curve_is_kept_whole()
    {
        var (xs, ys) = MinMaxThinning.Thin([1, 2, 3, 4], [4, 3, 2, 1], buckets: 2);
        Assert.Equal([1, 2, 3, 4], xs);
        Assert.Equal([4, 3, 2, 1], ys);
    }

    [Fact]
    public void Each_bucket_keeps_its_lowest_and_highest_point_in_step_order_so_a_spike_survives()
    {
        double[] xs = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        double[] ys = [5, 4, 9, 3, 2, 2, 1, 0.5, 0.4];
        var (keptX, keptY) = MinMaxThinning.Thin(xs, ys, buckets: 3);
        Assert.Equal([2, 3, 4, 5, 7, 9], keptX);
        Assert.Equal([4, 9, 3, 2, 1, 0.4], keptY);
    }
}
