using RnnCluster.TestKit;

namespace RnnCluster.Tests.Actors;

public sealed class TestKitTests
{
    [Theory]
    [InlineData(null, 1.0)]
    [InlineData("", 1.0)]
    [InlineData("2", 2.0)]
    [InlineData("1.5", 1.5)]
    public void The_time_factor_parses_positive_numbers_and_defaults_to_one(string? value, double expected) =>
        Assert.Equal(expected, TestKitSettings.ParseTimeFactor(value));

    [Theory]
    [InlineData("abc")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("NaN")]
    public void An_invalid_time_factor_is_a_clear_error(string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => TestKitSettings.ParseTimeFactor(value));
        Assert.Contains(TestKitSettings.TimeFactorVariable, error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{value}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failed_expectation_says_what_was_expected_what_arrived_and_the_hint()
    {
        await using var kit = new TestKit.TestKit();
        var probe = kit.CreateTestProbe();
        probe.Ref.Tell(42, null);

        var failure = await Assert.ThrowsAsync<TestKitAssertionException>(() => probe.ExpectMsgAsync<string>(hint: "the greeting"));

        Assert.Contains("Expected String", failure.Message, StringComparison.Ordinal);
        Assert.Contains("received Int32 42", failure.Message, StringComparison.Ordinal);
        Assert.Contains("[hint: the greeting]", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_timed_out_expectation_says_nothing_arrived()
    {
        await using var kit = new TestKit.TestKit();
        var probe = kit.CreateTestProbe();

        var failure = await Assert.ThrowsAsync<TestKitAssertionException>(() => probe.ExpectMsgAsync<string>(timeout: TimeSpan.FromMilliseconds(20)));

        Assert.Contains("no message arrived", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithinAsync_fails_a_block_that_takes_longer_than_allowed()
    {
        await using var kit = new TestKit.TestKit();
        var probe = kit.CreateTestProbe();

        await Assert.ThrowsAsync<TestKitAssertionException>(() =>
            probe.WithinAsync(TimeSpan.FromMilliseconds(10), () => probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100))));
    }

    [Fact]
    public void The_manual_clock_fires_due_timers_in_order_and_periodic_ones_once_per_period()
    {
        var clock = new ManualTimeProvider();
        var fired = new List<string>();
        using var late = clock.CreateTimer(_ => fired.Add($"late@{clock.GetUtcNow().Second}"), null, TimeSpan.FromSeconds(5), Timeout.InfiniteTimeSpan);
        using var periodic = clock.CreateTimer(_ => fired.Add($"tick@{clock.GetUtcNow().Second}"), null, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2));
        using var cancelled = clock.CreateTimer(_ => fired.Add("cancelled"), null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        cancelled.Dispose();

        clock.Advance(TimeSpan.FromSeconds(6));

        Assert.Equal(["tick@2", "tick@4", "late@5", "tick@6"], fired);
        Assert.Equal(TimeSpan.FromSeconds(2), clock.NextDueIn);
        Assert.Equal(TimeSpan.FromSeconds(6), clock.GetElapsedTime(0));
    }
}
