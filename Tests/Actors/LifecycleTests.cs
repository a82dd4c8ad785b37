using RnnCluster.Actors;
using RnnCluster.Tests.Actors.Support;

namespace RnnCluster.Tests.Actors;

public sealed class LifecycleTests
{
    [Fact]
    public async Task Hooks_run_in_Akka_order_across_a_restart_and_a_stop()
    {
        await using var kit = new TestKit.TestKit();
        var probe = kit.CreateTestProbe();
        var actor = kit.Sys.ActorOf(ReportingActor.Props(probe.Ref, "a"), "a");

        await probe.ExpectMsgAsync<Hook>(h => h is { Name: "PreStart", Incarnation: 1 });
        var failing = new Fail(new InvalidOperationException("boom"));
        actor.Tell(failing, null);
        await probe.ExpectMsgAsync<Said>(s => s.Text == "handling boom");
        var preRestart = await probe.ExpectMsgAsync<Hook>(h => h is { Name: "PreRestart", Incarnation: 1 });
        Assert.Same(failing, preRestart.Message);
        await probe.ExpectMsgAsync<Hook>(h => h is { Name: "PostStop", Incarnation: 1 }, hint: "default PreRestart calls PostStop");
        await probe.ExpectMsgAsync<Hook>(h => h is { Name: "PostRestart", Incarnation: 2 });
        await probe.ExpectMsgAsync<Hook>(h => h is { Name: "PreStart", Incarnation: 2 }, hint: "default PostRestart calls PreStart");

        kit.Sys.Stop(actor);
        await probe.ExpectMsgAsync<Hook>(h => h is { Name: "PostStop", Incarnation: 2 });
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task A_restart_keeps_the_ref_and_the_messages_queued_behind_the_failure()
    {
        await using var kit = new TestKit.TestKit();
        var probe = kit.CreateTestProbe();
        var actor = kit.Sys.ActorOf(ReportingActor.Props(probe.Ref, "a"));

        actor.Tell(new Fail(new InvalidOperationException("boom")), null);
        actor.Tell(new Say("after"), null);

        var said = await probe.FishForMessageAsync<Said>(s => s.Text == "after");
        Assert.Equal(2, said.Incarnation);
        Assert.Equal(actor, probe.LastSender);
    }

    [Fact]
    public async Task The_failing_message_is_not_processed_again_after_a_restart()
    {
        await using var kit = new TestKit.TestKit();
        var probe = kit.CreateTestProbe();
        var actor = kit.Sys.ActorOf(ReportingActor.Props(probe.Ref, "a"));

        actor.Tell(new Fail(new InvalidOperationException("once")), null);
        actor.Tell(new Say("next"), null);

        await probe.FishForMessageAsync<Said>(s => s.Text == "handling once");
        var next = await probe.FishForMessageAsync<Said>(s => s.Text is "next" or "handling once");
        Assert.Equal("next", next.Text);
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task Children_are_stopped_before_the_parent_and_restart_waits_for_them()
    {
        await using var kit = new TestKit.TestKit();
        var probe = kit.CreateTestProbe();
        var parent = kit.Sys.ActorOf(ReportingActor.Props(probe.Ref, "parent"), "parent");
        await probe.ExpectMsgAsync<Hook>(h => h.Name == "PreStart");
        await parent.CreateChildAsync(ReportingActor.Props(probe.Ref, "child"), "child");
        await probe.ExpectMsgAsync<Hook>(h => h is { Actor: "child", Name: "PreStart" });

        parent.Tell(new Fail(new InvalidOperationException("x")), null);
        await probe.ExpectMsgAsync<Said>();
        await probe.ExpectMsgAsync<Hook>(h => h is { Actor: "parent", Name: "PreRestart" });
        // The parent's PostStop and the child's (on another thread) may reach the probe in either order.
        var stops = new[]
        {
            await probe.ExpectMsgAsync<Hook>(h => h.Name == "PostStop"),
            await probe.ExpectMsgAsync<Hook>(h => h.Name == "PostStop"),
        };
        Assert.Equal(["child", "parent"], stops.Select(h => h.Actor).Order());
        await probe.ExpectMsgAsync<Hook>(h => h is { Actor: "parent", Name: "PostRestart" }, hint: "only after the child has stopped");

        // The name is free again for the new incarnation.
        var again = await parent.CreateChildAsync(ReportingActor.Props(probe.Ref, "child"), "child");
        Assert.Equal("child", again.Path.Name);
    }
}
