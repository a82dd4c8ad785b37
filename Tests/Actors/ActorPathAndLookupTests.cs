using RnnCluster.Actors;
using RnnCluster.Tests.Actors.Support;

namespace RnnCluster.Tests.Actors;

public sealed class ActorPathAndLookupTests
{
    [Fact]
    public async Task Actors_get_hierarchical_paths_and_can_be_looked_up_by_them()
    {
        await using var kit = new TestKit.TestKit(systemName: "trainer");
        var probe = kit.CreateTestProbe();
        var coordinator = kit.Sys.ActorOf(ReportingActor.Props(probe.Ref, "coordinator"), "coordinator");
        var worker = await coordinator.CreateChildAsync(ReportingActor.Props(probe.Ref, "worker-1"), "worker-1");

        Assert.Equal("rnn://trainer/user/coordinator", coordinator.Path.ToString());
        Assert.Equal("rnn://trainer/user/coordinator/worker-1", worker.Path.ToString());
        Assert.Equal("/user/coordinator/worker-1", worker.Path.LocalPart);
        Assert.Equal(coordinator.Path, worker.Path.Parent);
        Assert.Same(worker, kit.Sys.Lookup("/user/coordinator/worker-1"));
        Assert.Same(worker, kit.Sys.Lookup("rnn://trainer/user/coordinator/worker-1"));
        Assert.Null(kit.Sys.Lookup("/user/coordinator/worker-2"));
        Assert.Null(kit.Sys.Lookup("rnn://elsewhere/user/coordinator"));
        Assert.Same(worker, kit.Sys.ActorSelection("/user/coordinator/worker-1").ResolveOne());
        Assert.Throws<ActorNotFoundException>(() => kit.Sys.ActorSelection("/user/nobody").ResolveOne());
    }

    [Fact]
    public async Task A_selection_delivers_to_the_actor_at_the_path()
    {
        await using var kit = new TestKit.TestKit();
        var probe = kit.CreateTestProbe();
        kit.Sys.ActorOf(ReportingActor.Props(probe.Ref, "a"), "a");

        kit.Sys.ActorSelection("/user/a").Tell(new Say("selected"));

        await probe.FishForMessageAsync<Said>(s => s.Text == "selected");
    }

    [Fact]
    public async Task Child_names_are_unique_among_live_siblings_and_validated()
    {
        await using var kit = new TestKit.TestKit();
        var probe = kit.CreateTestProbe();
        kit.Sys.ActorOf(ReportingActor.Props(probe.Ref, "a"), "a");

        Assert.Throws<InvalidActorNameException>(() => kit.Sys.ActorOf(ReportingActor.Props(probe.Ref, "a"), "a"));
        Assert.Throws<InvalidActorNameException>(() => kit.Sys.ActorOf(ReportingActor.Props(probe.Ref, "x"), "a/b"));
        Assert.Throws<InvalidActorNameException>(() => kit.Sys.ActorOf(ReportingActor.Props(probe.Ref, "x"), "$reserved"));
        var generated = kit.Sys.ActorOf(ReportingActor.Props(probe.Ref, "x"));
        Assert.StartsWith("$", generated.Path.Name, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Context_exposes_children_by_name_and_the_parent()
    {
        await using var kit = new TestKit.TestKit();
        var probe = kit.CreateTestProbe();
        var parent = kit.Sys.ActorOf(Props.Create(() => new Family(probe.Ref)), "family");

        parent.Tell("report", null);

        Assert.Equal("kid-1,kid-2", await probe.ExpectMsgAsync<string>());
        Assert.True(await probe.ExpectMsgAsync<bool>(hint: "Child(name) finds kid-2"));
        Assert.Equal("/user", await probe.ExpectMsgAsync<string>());
    }

    [Fact]
    public void Paths_parse_addresses_with_host_and_port()
    {
        var local = new ActorAddress("trainer");
        var path = ActorPath.Parse("rnn://trainer@10.0.0.7:2552/user/coordinator", local);

        Assert.Equal(new ActorAddress("trainer", "10.0.0.7", 2552), path.Address);
        Assert.Equal("rnn://trainer@10.0.0.7:2552/user/coordinator", path.ToString());
        Assert.Equal(["user", "coordinator"], path.Elements);
        Assert.Throws<FormatException>(() => ActorPath.Parse("user/x", local));
    }

    private sealed class Family : ReceiveActor
    {
        public Family(IActorRef probe)
        {
            Context.ActorOf(Props.Create(() => new Family(probe, leaf: true)), "kid-1");
            Context.ActorOf(Props.Create(() => new Family(probe, leaf: true)), "kid-2");
            Receive<string>(_ =>
            {
                probe.Tell(string.Join(',', Context.Children.Select(c => c.Path.Name)));
                probe.Tell(Context.Child("kid-2") is not null && Context.Child("kid-3") is null);
                probe.Tell(Context.Parent.Path.LocalPart);
            });
        }

        private Family(IActorRef probe, bool leaf)
        {
            _ = (probe, leaf);
        }
    }
}
