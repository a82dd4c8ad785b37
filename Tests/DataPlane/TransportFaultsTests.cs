using RnnCluster.DataPlane.Transport;

namespace RnnCluster.Tests.DataPlane;

public sealed class TransportFaultsTests
{
    [Fact]
    public void Parse_reads_delay_drop_and_seed()
    {
        var faults = TransportFaults.Parse("delay=50ms;drop=0.01;seed=7");

        Assert.Equal(TimeSpan.FromMilliseconds(50), faults.Delay);
        Assert.Equal(0.01, faults.DropProbability);
        Assert.Equal(7, faults.Seed);
        Assert.True(faults.IsActive);
    }

    [Fact]
    public void Parse_takes_any_subset_in_any_order_with_spaces_and_seconds()
    {
        var faults = TransportFaults.Parse(" seed = -3 ; delay = 1.5s ; ");

        Assert.Equal(new TransportFaults { Delay = TimeSpan.FromMilliseconds(1500), Seed = -3 }, faults);
    }

    [Fact]
    public void An_empty_string_means_no_faults()
    {
        var faults = TransportFaults.Parse("");

        Assert.Equal(new TransportFaults(), faults);
        Assert.False(faults.IsActive);
    }

    [Fact]
    public void ToString_gives_back_what_Parse_reads()
    {
        var faults = new TransportFaults { Delay = TimeSpan.FromMilliseconds(12.5), DropProbability = 0.25, Seed = 42 };

        Assert.Equal("delay=12.5ms;drop=0.25;seed=42", faults.ToString());
        Assert.Equal(faults, TransportFaults.Parse(faults.ToString()));
    }

    [Theory]
    [InlineData("delay=50", "'delay=50' needs a unit")]
    [InlineData("delay=-5ms", "'delay=-5ms' is not a non-negative duration")]
    [InlineData("delay=fastms", "'delay=fastms' is not a non-negative duration")]
    [InlineData("drop=1.5", "'drop=1.5' is not a probability in [0, 1]")]
    [InlineData("drop=0,5", "'drop=0,5' is not a probability")]
    [InlineData("seed=x", "'seed=x' is not a 32-bit integer")]
    [InlineData("jitter=5ms", "'jitter=5ms' has an unknown key")]
    [InlineData("delay=5ms;drop", "'drop' is not key=value")]
    [InlineData("drop=0.1;drop=0.2", "'drop=0.2' sets 'drop' a second time")]
    public void A_bad_part_is_a_FormatException_naming_it(string text, string expected)
    {
        var error = Assert.Throws<FormatException>(() => TransportFaults.Parse(text));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{text}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_refuses_a_probability_outside_zero_to_one()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TransportFaults { DropProbability = double.NaN }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new TransportFaults { Delay = TimeSpan.FromMilliseconds(-1) }.Validate());
    }
}
