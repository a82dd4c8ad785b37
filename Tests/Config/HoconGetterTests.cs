using RnnCluster.Config;

namespace RnnCluster.Tests.Config;

public sealed class HoconGetterTests
{
    private static ConfigTree Parse(string text) => HoconSource.ReadText(text, "getters.conf", Env.Empty);

    [Theory]
    [InlineData("3s", 30_000_000L)]
    [InlineData("500ms", 5_000_000L)]
    [InlineData("2m", 1_200_000_000L)]
    [InlineData("1h", 36_000_000_000L)]
    [InlineData("250us", 2_500L)]
    [InlineData("1d", 864_000_000_000L)]
    [InlineData("1.5s", 15_000_000L)]
    [InlineData("\"10 seconds\"", 100_000_000L)]
    [InlineData("750", 7_500_000L)]
    public void Durations_read_with_their_unit_and_bare_numbers_are_milliseconds(string text, long ticks)
    {
        var root = Parse($"cluster.heartbeat-interval = {text}\n");

        Assert.Equal(TimeSpan.FromTicks(ticks), root.GetDuration("cluster.heartbeat-interval"));
    }

    [Theory]
    [InlineData("512B", 512L)]
    [InlineData("64KiB", 65_536L)]
    [InlineData("1MiB", 1_048_576L)]
    [InlineData("1GiB", 1_073_741_824L)]
    [InlineData("10MB", 10_000_000L)]
    [InlineData("4kB", 4_000L)]
    [InlineData("2K", 2_048L)]
    [InlineData("100", 100L)]
    public void Sizes_read_as_bytes_with_binary_and_decimal_units(string text, long bytes)
    {
        var root = Parse($"remote.maximum-frame-size = {text}\n");

        Assert.Equal(bytes, root.GetSize("remote.maximum-frame-size"));
    }

    [Fact]
    public void A_duration_with_an_unknown_unit_names_path_value_and_origin()
    {
        var root = Parse("a {\n  timeout = 3 fortnights\n}\n");

        var error = Assert.Throws<ConfigException>(() => root.GetDuration("a.timeout"));

        Assert.Equal("a.timeout = 3 fortnights at getters.conf:2: expected a duration such as 250us, 500ms, 3s, 2m, 1h or 1d", error.Message);
    }

    [Fact]
    public void A_fractional_size_in_bytes_is_an_error()
    {
        var root = Parse("a = 1.5B\n");

        var error = Assert.Throws<ConfigException>(() => root.GetSize("a"));

        Assert.Equal("a = 1.5B at getters.conf:1: size must be a whole number of bytes", error.Message);
    }

    [Fact]
    public void Typed_getters_fall_back_when_the_path_is_absent_or_null()
    {
        var root = Parse("a = null\n");

        Assert.Equal(TimeSpan.FromSeconds(5), root.GetDuration("a", TimeSpan.FromSeconds(5)));
        Assert.Equal(1024L, root.GetSize("b.c", 1024));
        Assert.Equal("x", root.GetString("a", "x"));
    }

    [Fact]
    public void A_required_getter_on_a_missing_path_says_so()
    {
        var root = Parse("a = 1\n");

        var error = Assert.Throws<ConfigException>(() => root.GetInt("b"));

        Assert.Equal("b is missing (in the object at getters.conf:1) and has no default", error.Message);
    }

    [Fact]
    public void Numbers_parse_with_the_invariant_culture_whatever_the_scalar_kind()
    {
        var root = Parse("a = 0.25\nb = \"1e-8\"\nc = yes\n");

        Assert.Equal(0.25, root.GetDouble("a"));
        Assert.Equal(1e-8, root.GetDouble("b"));
        Assert.True(root.GetBoolean("c"));
    }

    [Theory]
    [InlineData("1s", "1s")]
    [InlineData("90s", "90s")]
    [InlineData("2m", "2m")]
    [InlineData("1500ms", "1500ms")]
    [InlineData("250us", "250us")]
    public void Durations_are_written_back_in_an_exact_unit(string text, string expected)
    {
        var value = Parse($"a = {text}\n").GetDuration("a");

        Assert.Equal(expected, HoconWriter.FormatDuration(value));
    }
}
