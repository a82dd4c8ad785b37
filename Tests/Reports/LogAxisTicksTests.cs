using RnnCluster.Coordinator.Reports;

namespace RnnCluster.Tests.Reports;

public sealed class LogAxisTicksTests
{
    [Fact]
    public void A_loss_range_within_one_decade_gets_half_unit_ticks()
    {
        Assert.Equal([2.5, 3, 3.5, 4, 4.5], LogAxisTicks.For(2.09, 4.57));
    }

    [Fact]
    public void Three_decades_get_the_powers_of_ten()
    {
        Assert.Equal([1, 10, 100, 1000], LogAxisTicks.For(1, 1000));
    }

    [Fact]
    public void Small_values_are_round_decimals_without_binary_noise()
    {
        Assert.Equal([0.02, 0.03, 0.04, 0.05, 0.06], LogAxisTicks.For(0.015, 0.065));
    }
}
