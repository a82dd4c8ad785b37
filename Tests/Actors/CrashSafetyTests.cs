using Microsoft.Extensions.Logging;
using RnnCluster.Actors;
using RnnCluster.TestKit;
using RnnCluster.Tests.Actors.Support;

namespace RnnCluster.Tests.Actors;

public sealed class CrashSafetyTests
{
    private sealed class Thrower : ActorBase
    {
        protected override void OnReceive(object message) => throw new InvalidOperationException("thrown for " + message);

        protected override void PostStop() => throw new InvalidOperationException("PostStop throws too");
    }

    [Fact]
    public async Task Exceptions_in_actors_never_kill_the_process_and_are_supervised()
    {
        await using var kit = new TestKit.TestKit();
        var failures = kit.SubscribeProbe<ActorFailed>();
        var thrower = kit.Sys.ActorOf(Props.Create(() => new Thrower()), "thrower");

        for (var i = 0; i < 20; i++)
        {
            thrower.Tell(i, null);
        }

        var seen = await failures.CollectAsync<ActorFailed>(20);
        Assert.All(seen, f => Assert.Equal(Directive.Restart, f.Directive));
        Assert.Equal(Enumerable.Range(0, 20), seen.Select(f => (int)f.Message!));
        Assert.Contains(kit.Logs.Entries, e => e.EventId.Id == 30 && e.Level == LogLevel.Error);
    }

    [Fact]
    public async Task A_failing_user_guardian_terminates_the_system_with_the_cause_logged_as_critical()
    {
        var kit = new TestKit.TestKit(new ActorSystemOptions
        {
            UserGuardianStrategy = new OneForOneStrategy(_ => Directive.Escalate),
        });
        await using var _ = kit;
        var cause = new InvalidOperationException("fatal");
        var actor = kit.Sys.ActorOf(ReportingActor.Props(kit.CreateTestProbe().Ref, "top"), "top");

        actor.Tell(new Fail(cause), null);

        var termination = await kit.Sys.WhenTerminated.WaitAsync(TestKitSettings.DefaultTimeout);
        Assert.Same(cause, termination.Cause);
        Assert.True(termination.IsFailure);
        var critical = Assert.Single(kit.Logs.Entries, e => e.Level == LogLevel.Critical);
        Assert.Equal(3, critical.EventId.Id);
        Assert.Same(cause, critical.Exception);
    }

    [Fact]
    public async Task Terminate_stops_every_actor_and_completes_without_a_cause()
    {
        var kit = new TestKit.TestKit();
        await using var _ = kit;
        var probe = kit.CreateTestProbe();
        var parent = kit.Sys.ActorOf(ReportingActor.Props(probe.Ref, "parent"), "parent");
        await parent.CreateChildAsync(ReportingActor.Props(probe.Ref, "child"), "child");

        var termination = await kit.Sys.Terminate().WaitAsync(TestKitSettings.DefaultTimeout);

        Assert.Null(termination.Cause);
        Assert.Null(kit.Sys.Lookup("/user/parent"));
    }

    [Fact]
    public void Creating_an_actor_with_new_is_refused()
    {
        var refused = Assert.Throws<InvalidOperationException>(() => new Thrower());
        Assert.Contains("ActorOf", refused.Message, StringComparison.Ordinal);
    }
}
