using RnnCluster.Actors;
using RnnCluster.TestKit;
using RnnCluster.Tests.Actors.Support;

namespace RnnCluster.Tests.Actors;

public sealed class OneForOneSupervisionTests
{
    private static readonly TimeSpan s_ask = TestKitSettings.DefaultTimeout;

    private static SupervisorStrategy Strategy(Directive forArgument) =>
        new OneForOneStrategy(Decider.From(Directive.Restart, (typeof(ArgumentException), forArgument)));

    [Fact]
    public async Task Resume_keeps_the_instance_and_its_state()
    {
        await using var kit = new TestKit.TestKit();
        var failures = kit.SubscribeProbe<ActorFailed>();
        var probe = kit.CreateTestProbe();
        var parent = kit.Sys.ActorOf(SupervisorActor.Props(Strategy(Directive.Resume)));
        var child = await parent.CreateChildAsync(ReportingActor.Props(probe.Ref, "c"), "c");

        child.Tell(Increment.Instance, null);
        child.Tell(Increment.Instance, null);
        child.Tell(new Fail(new ArgumentException("bad")), null);

        var failed = await failures.ExpectMsgAsync<ActorFailed>();
        Assert.Equal(Directive.Resume, failed.Directive);
        Assert.Equal(child, failed.Child);
        Assert.Equal(parent, failed.Supervisor);
        Assert.IsType<Fail>(failed.Message);
        Assert.Equal(new State(2, 1), await child.Ask<State>(GetState.Instance, s_ask));
    }

    [Fact]
    public async Task Restart_replaces_the_instance_and_leaves_siblings_alone()
    {
        await using var kit = new TestKit.TestKit();
        var failures = kit.SubscribeProbe<ActorFailed>();
        var probe = kit.CreateTestProbe();
        var parent = kit.Sys.ActorOf(SupervisorActor.Props(Strategy(Directive.Resume)));
        var child = await parent.CreateChildAsync(ReportingActor.Props(probe.Ref, "c"), "c");
        var sibling = await parent.CreateChildAsync(ReportingActor.Props(probe.Ref, "s"), "s");

        child.Tell(Increment.Instance, null);
        child.Tell(new Fail(new InvalidOperationException("restart me")), null);

        var failed = await failures.ExpectMsgAsync<ActorFailed>();
        Assert.Equal(Directive.Restart, failed.Directive);
        Assert.Equal(new State(0, 2), await child.Ask<State>(GetState.Instance, s_ask));
        Assert.Equal(new State(0, 1), await sibling.Ask<State>(GetState.Instance, s_ask));
    }

    [Fact]
    public async Task Stop_stops_the_child_and_its_watchers_learn_of_it()
    {
        await using var kit = new TestKit.TestKit();
        var failures = kit.SubscribeProbe<ActorFailed>();
        var probe = kit.CreateTestProbe();
        var parent = kit.Sys.ActorOf(SupervisorActor.Props(Strategy(Directive.Stop)));
        var child = await parent.CreateChildAsync(ReportingActor.Props(probe.Ref, "c"), "c");
        probe.Watch(child);

        child.Tell(new Fail(new ArgumentException("stop me")), null);

        Assert.Equal(Directive.Stop, (await failures.ExpectMsgAsync<ActorFailed>()).Directive);
        await probe.FishForMessageAsync<Terminated>(t => t.ActorRef.Equals(child));
    }

    [Fact]
    public async Task Escalate_fails_the_parent_with_the_same_exception_and_the_grandparent_decides()
    {
        await using var kit = new TestKit.TestKit();
        var failures = kit.SubscribeProbe<ActorFailed>();
        var probe = kit.CreateTestProbe();
        var grandparent = kit.Sys.ActorOf(SupervisorActor.Props(SupervisorStrategy.Default), "grandparent");
        var parentIncarnations = new Incarnations();
        var parent = await grandparent.CreateChildAsync(
            SupervisorActor.Props(Strategy(Directive.Escalate), probe.Ref, "parent", parentIncarnations), "parent");
        var child = await parent.CreateChildAsync(ReportingActor.Props(probe.Ref, "c"), "c");
        var cause = new ArgumentException("escalate me");

        child.Tell(new Fail(cause), null);

        var first = await failures.ExpectMsgAsync<ActorFailed>();
        Assert.Equal((child, Directive.Escalate), (first.Child, first.Directive));
        var second = await failures.ExpectMsgAsync<ActorFailed>();
        Assert.Equal((parent, grandparent, Directive.Restart), (second.Child, second.Supervisor, second.Directive));
        Assert.Same(cause, second.Cause);
        await probe.FishForMessageAsync<Hook>(h => h is { Actor: "c", Name: "PostStop" }, hint: "the parent's restart stops its children");
        parent.Tell(new Say("restarted"), null);
        Assert.Equal(2, (await probe.FishForMessageAsync<Said>(s => s.Actor == "parent")).Incarnation);
    }

    [Fact]
    public async Task A_decider_by_type_picks_the_closest_base_type_in_any_order()
    {
        var decider = Decider.From(
            Directive.Escalate,
            (typeof(Exception), Directive.Restart),
            (typeof(ArgumentOutOfRangeException), Directive.Stop),
            (typeof(ArgumentException), Directive.Resume));

        Assert.Equal(Directive.Stop, decider.Decide(new ArgumentOutOfRangeException()));
        Assert.Equal(Directive.Resume, decider.Decide(new ArgumentNullException()));
        Assert.Equal(Directive.Restart, decider.Decide(new InvalidOperationException()));
        await Task.CompletedTask;
    }

    [Fact]
    public async Task The_default_strategy_restarts_without_limit_and_stops_on_death_pact()
    {
        Assert.Null(SupervisorStrategy.Default.Limit);
        Assert.IsType<OneForOneStrategy>(SupervisorStrategy.Default);
        Assert.Equal(Directive.Restart, SupervisorStrategy.Default.Decider.Decide(new InvalidOperationException()));
        Assert.Equal(Directive.Stop, SupervisorStrategy.Default.Decider.Decide(new DeathPactException()));
        Assert.Equal(Directive.Stop, SupervisorStrategy.Default.Decider.Decide(new ActorInitializationException()));
        await Task.CompletedTask;
    }

    [Fact]
    public async Task A_constructor_failure_stops_the_actor_by_default()
    {
        await using var kit = new TestKit.TestKit();
        var failures = kit.SubscribeProbe<ActorFailed>();
        var probe = kit.CreateTestProbe();
        var actor = kit.Sys.ActorOf(Props.Create<ReportingActor>(() => throw new InvalidOperationException("ctor")));
        probe.Watch(actor);

        var failed = await failures.ExpectMsgAsync<ActorFailed>();
        Assert.IsType<ActorInitializationException>(failed.Cause);
        Assert.Equal(Directive.Stop, failed.Directive);
        await probe.ExpectTerminatedAsync(actor);
    }
}
