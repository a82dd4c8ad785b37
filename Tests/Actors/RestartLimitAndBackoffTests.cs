using RnnCluster.Actors;
using RnnCluster.TestKit;
using RnnCluster.Tests.Actors.Support;

namespace RnnCluster.Tests.Actors;

public sealed class RestartLimitAndBackoffTests
{
    private static readonly TimeSpan s_window = TimeSpan.FromSeconds(10);

    private static async Task<(TestKit.TestKit Kit, ManualTimeProvider Clock, TestProbe Probe, TestProbe Failures, IActorRef Child)> StartAsync(
        SupervisorStrategy strategy, Func<double>? random = null)
    {
        var clock = new ManualTimeProvider();
        var kit = new TestKit.TestKit(new ActorSystemOptions { TimeProvider = clock, RandomSource = random });
        var failures = kit.SubscribeProbe<ActorFailed>();
        var probe = kit.CreateTestProbe();
        var parent = kit.Sys.ActorOf(SupervisorActor.Props(strategy), "parent");
        var child = await parent.CreateChildAsync(ReportingActor.Props(probe.Ref, "worker"), "worker");
        await probe.ExpectMsgAsync<Hook>(h => h.Name == "PreStart");
        return (kit, clock, probe, failures, child);
    }

    private static Fail Boom() => new(new InvalidOperationException("boom"));

    [Fact]
    public async Task More_failures_than_the_limit_within_the_window_stop_the_child()
    {
        var strategy = new OneForOneStrategy(Decider.Default) { Limit = new RestartLimit(MaxRetries: 2, Window: s_window) };
        var (kit, clock, probe, failures, child) = await StartAsync(strategy);
        await using var _ = kit;
        probe.Watch(child);

        for (var i = 0; i < 2; i++)
        {
            child.Tell(Boom(), null);
            Assert.Equal(Directive.Restart, (await failures.ExpectMsgAsync<ActorFailed>()).Directive);
            clock.Advance(TimeSpan.FromSeconds(1));
        }

        child.Tell(Boom(), null);
        var third = await failures.ExpectMsgAsync<ActorFailed>();
        Assert.Equal(Directive.Stop, third.Directive);
        Assert.True(third.RestartLimitExceeded);
        await probe.FishForMessageAsync<Terminated>(t => t.ActorRef.Equals(child));
    }

    [Fact]
    public async Task Failures_spread_wider_than_the_window_keep_restarting()
    {
        var strategy = new OneForOneStrategy(Decider.Default) { Limit = new RestartLimit(MaxRetries: 2, Window: s_window) };
        var (kit, clock, probe, failures, child) = await StartAsync(strategy);
        await using var _ = kit;

        for (var i = 0; i < 6; i++)
        {
            child.Tell(Boom(), null);
            var failed = await failures.ExpectMsgAsync<ActorFailed>(hint: $"failure {i + 1}");
            Assert.Equal(Directive.Restart, failed.Directive);
            clock.Advance(TimeSpan.FromSeconds(6));
        }

        child.Tell(new Say("alive"), null);
        Assert.Equal(7, (await probe.FishForMessageAsync<Said>(s => s.Text == "alive")).Incarnation);
    }

    [Fact]
    public async Task Back_off_delays_grow_exponentially_with_bounded_jitter_and_hold_messages()
    {
        var backoff = new RestartBackoff(Min: TimeSpan.FromSeconds(1), Max: TimeSpan.FromSeconds(8), RandomFactor: 0.5);
        var strategy = new OneForOneStrategy(Decider.Default) { Backoff = backoff };
        var seeded = new Random(42);
        var expectedSamples = new Random(42);
        var (kit, clock, probe, failures, child) = await StartAsync(strategy, seeded.NextDouble);
        await using var _ = kit;
        double[] baseSeconds = [1, 2, 4, 8, 8];

        for (var attempt = 0; attempt < baseSeconds.Length; attempt++)
        {
            child.Tell(Boom(), null);
            child.Tell(new Say("queued " + attempt), null);
            await probe.ExpectMsgAsync<Said>(s => s.Text == "handling boom");
            var failed = await failures.ExpectMsgAsync<ActorFailed>();
            var delay = failed.RestartDelay!.Value;

            var lower = TimeSpan.FromSeconds(baseSeconds[attempt]);
            Assert.InRange(delay, lower, lower * 1.5);
            Assert.Equal(backoff.DelayFor(attempt, expectedSamples.NextDouble()), delay);

            clock.Advance(delay - TimeSpan.FromTicks(1));
            await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(50), hint: "still backing off: no restart, the queued message waits");

            clock.Advance(TimeSpan.FromTicks(1));
            await probe.ExpectMsgAsync<Hook>(h => h.Name == "PreRestart");
            await probe.ExpectMsgAsync<Hook>(h => h.Name == "PostStop");
            await probe.ExpectMsgAsync<Hook>(h => h.Name == "PostRestart");
            await probe.ExpectMsgAsync<Hook>(h => h.Name == "PreStart");
            await probe.ExpectMsgAsync<Said>(s => s.Text == "queued " + attempt);
        }
    }

    [Fact]
    public void Back_off_delay_formula_is_exact_at_the_bounds()
    {
        var backoff = new RestartBackoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), 0.25);

        Assert.Equal(TimeSpan.FromMilliseconds(100), backoff.DelayFor(0, 0));
        Assert.Equal(TimeSpan.FromMilliseconds(400), backoff.DelayFor(2, 0));
        Assert.Equal(TimeSpan.FromSeconds(1), backoff.DelayFor(10, 0));
        Assert.InRange(backoff.DelayFor(1000, 1 - 1e-12), TimeSpan.FromMilliseconds(1249), TimeSpan.FromMilliseconds(1250));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RestartBackoff(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1), 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RestartLimit(-1, TimeSpan.FromSeconds(1)));
    }
}
