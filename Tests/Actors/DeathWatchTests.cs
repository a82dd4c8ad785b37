using RnnCluster.Actors;
using RnnCluster.Tests.Actors.Support;

namespace RnnCluster.Tests.Actors;

public sealed class DeathWatchTests
{
    [Fact]
    public async Task Terminated_is_delivered_exactly_once_even_when_watched_twice()
    {
        await using var kit = new TestKit.TestKit();
        var probe = kit.CreateTestProbe();
        var target = kit.Sys.ActorOf(ReportingActor.Props(kit.CreateTestProbe().Ref, "t"));
        probe.Watch(target);
        probe.Watch(target);

        kit.Sys.Stop(target);

        await probe.ExpectTerminatedAsync(target);
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(150));
    }

    [Fact]
    public async Task Watching_an_actor_that_is_already_dead_delivers_Terminated()
    {
        await using var kit = new TestKit.TestKit();
        var first = kit.CreateTestProbe();
        var late = kit.CreateTestProbe();
        var target = kit.Sys.ActorOf(ReportingActor.Props(kit.CreateTestProbe().Ref, "t"));
        first.Watch(target);
        kit.Sys.Stop(target);
        await first.ExpectTerminatedAsync(target);

        late.Watch(target);

        await late.ExpectTerminatedAsync(target);
        await late.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task Unwatch_cancels_the_notification()
    {
        await using var kit = new TestKit.TestKit();
        var probe = kit.CreateTestProbe();
        var control = kit.CreateTestProbe();
        var target = kit.Sys.ActorOf(ReportingActor.Props(kit.CreateTestProbe().Ref, "t"));
        probe.Watch(target);
        control.Watch(target);
        probe.Unwatch(target);

        kit.Sys.Stop(target);

        await control.ExpectTerminatedAsync(target);
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(150));
    }

    [Fact]
    public async Task Terminated_arrives_after_the_messages_the_dead_actor_sent_before_dying()
    {
        await using var kit = new TestKit.TestKit();
        var probe = kit.CreateTestProbe();
        var target = kit.Sys.ActorOf(ReportingActor.Props(probe.Ref, "t"));
        await probe.ExpectMsgAsync<Hook>(h => h.Name == "PreStart");
        probe.Watch(target);
        for (var i = 0; i < 50; i++)
        {
            target.Tell(new Say("m" + i), null);
        }

        target.Tell(PoisonPill.Instance, null);

        for (var i = 0; i < 50; i++)
        {
            await probe.ExpectMsgAsync<Said>(s => s.Text == "m" + i);
        }

        await probe.ExpectMsgAsync<Hook>(h => h.Name == "PostStop");
        await probe.ExpectTerminatedAsync(target);
    }

    [Fact]
    public async Task An_unhandled_Terminated_of_a_watched_child_fails_the_watcher_with_DeathPactException()
    {
        await using var kit = new TestKit.TestKit();
        var failures = kit.SubscribeProbe<ActorFailed>();
        var watcher = kit.CreateTestProbe();
        var parent = kit.Sys.ActorOf(SupervisorActor.Props(SupervisorStrategy.Default), "parent");
        var child = await parent.CreateChildAsync(ReportingActor.Props(kit.CreateTestProbe().Ref, "c"), "c");
        watcher.Watch(parent);
        parent.Tell(new WatchIt(child), null);

        kit.Sys.Stop(child);

        var failed = await failures.ExpectMsgAsync<ActorFailed>();
        var pact = Assert.IsType<DeathPactException>(failed.Cause);
        Assert.Equal(child, pact.DeadActor);
        Assert.Equal((parent, Directive.Stop), (failed.Child, failed.Directive));
        await watcher.ExpectTerminatedAsync(parent);
    }
}
