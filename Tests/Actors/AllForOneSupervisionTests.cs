using RnnCluster.Actors;
using RnnCluster.TestKit;
using RnnCluster.Tests.Actors.Support;

namespace RnnCluster.Tests.Actors;

public sealed class AllForOneSupervisionTests
{
    private static readonly string[] s_names = ["a", "b", "c"];

    private static async Task<(TestProbe Probe, IActorRef[] Children)> ThreeChildrenAsync(TestKit.TestKit kit, SupervisorStrategy strategy)
    {
        var probe = kit.CreateTestProbe();
        var parent = kit.Sys.ActorOf(SupervisorActor.Props(strategy), "parent");
        var children = new IActorRef[s_names.Length];
        for (var i = 0; i < s_names.Length; i++)
        {
            children[i] = await parent.CreateChildAsync(ReportingActor.Props(probe.Ref, s_names[i]), s_names[i]);
        }

        await probe.CollectAsync<Hook>(3, h => h.Name == "PreStart");
        return (probe, children);
    }

    [Fact]
    public async Task Restart_really_restarts_every_sibling()
    {
        await using var kit = new TestKit.TestKit();
        var (probe, children) = await ThreeChildrenAsync(kit, new AllForOneStrategy(Decider.Default));
        foreach (var child in children)
        {
            child.Tell(Increment.Instance, null);
        }

        // Messages still queued survive a restart (as in Akka), so every Increment must have been
        // processed before the failure; otherwise a sibling could count it in its new incarnation.
        foreach (var child in children)
        {
            Assert.Equal(new State(1, 1), await child.Ask<State>(GetState.Instance, TestKitSettings.DefaultTimeout));
        }

        children[1].Tell(new Fail(new InvalidOperationException("b fails")), null);

        // Each sibling's new incarnation runs PostRestart, then (by default) PreStart.
        var newIncarnations = await probe.CollectAsync<Hook>(6, h => h.Incarnation == 2);
        Assert.Equal(s_names, newIncarnations.Where(h => h.Name == "PostRestart").Select(h => h.Actor).Order());
        Assert.Equal(s_names, newIncarnations.Where(h => h.Name == "PreStart").Select(h => h.Actor).Order());
        foreach (var child in children)
        {
            Assert.Equal(new State(0, 2), await child.Ask<State>(GetState.Instance, TestKitSettings.DefaultTimeout));
        }
    }

    [Fact]
    public async Task Stop_stops_every_sibling()
    {
        await using var kit = new TestKit.TestKit();
        var (probe, children) = await ThreeChildrenAsync(kit, new AllForOneStrategy(_ => Directive.Stop));
        var watcher = kit.CreateTestProbe();
        foreach (var child in children)
        {
            watcher.Watch(child);
        }

        children[0].Tell(new Fail(new InvalidOperationException("a fails")), null);

        var terminated = await watcher.CollectAsync<Terminated>(3);
        Assert.Equal(s_names, terminated.Select(t => t.ActorRef.Path.Name).Order());
    }

    [Fact]
    public async Task Resume_resumes_only_the_failed_child_and_touches_no_sibling()
    {
        await using var kit = new TestKit.TestKit();
        var failures = kit.SubscribeProbe<ActorFailed>();
        var (probe, children) = await ThreeChildrenAsync(kit, new AllForOneStrategy(_ => Directive.Resume));
        children[2].Tell(Increment.Instance, null);
        children[2].Tell(new Fail(new InvalidOperationException("c fails")), null);

        Assert.Equal(Directive.Resume, (await failures.ExpectMsgAsync<ActorFailed>()).Directive);
        Assert.Equal(new State(1, 1), await children[2].Ask<State>(GetState.Instance, TestKitSettings.DefaultTimeout));
        await probe.FishForMessageAsync<Said>(s => s.Actor == "c");
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100), hint: "no sibling hook may run");
    }
}
