using Akka.Actor;
using Akka.Cluster;
using Akka.Remote;
using Akka.Remote.Transport;
using RnnCluster.Parallel.Cluster;
using RnnCluster.Parallel.Cluster.Wire;
using Xunit.Abstractions;
using AkkaCluster = Akka.Cluster.Cluster;

namespace RnnCluster.Tests.Parallel.Cluster;

/// <summary>
/// Nodes of several actor systems on loopback, configured by <see cref="ClusterSystem"/> from
/// <c>cluster.*</c>: roles, joining through seeds, registration through the coordinator singleton,
/// and the split-brain resolver downing a cut-off minority, whose system then terminates.
/// </summary>
public sealed class AkkaClusterSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Nodes_configured_from_the_cluster_settings_form_one_cluster_with_their_roles()
    {
        await using var nodes = new ClusterNodes();
        var coordinator = nodes.StartFirst();
        nodes.StartJoining(ClusterSystem.WorkerRole);
        nodes.StartJoining(ClusterSystem.WorkerRole);

        await AwaitAssertAsync(
            () =>
            {
                var members = AkkaCluster.Get(coordinator).State.Members.Where(m => m.Status == MemberStatus.Up).ToArray();
                Assert.Equal(3, members.Length);
                Assert.Single(members, m => m.HasRole(ClusterSystem.CoordinatorRole));
                Assert.Equal(2, members.Count(m => m.HasRole(ClusterSystem.WorkerRole)));
            },
            Wait);
    }

    [Fact]
    public async Task A_worker_registers_through_the_singleton_proxy_and_its_registration_crosses_the_wire_intact()
    {
        await using var nodes = new ClusterNodes();
        var coordinator = nodes.StartFirst();
        var seen = CreateTestProbe(coordinator);
        CoordinatorSingleton.Start(coordinator, Props.Create(() => new AcceptingDesk(seen.Ref)), PoisonPill.Instance);
        var worker = nodes.StartJoining(ClusterSystem.WorkerRole);
        var parent = CreateTestProbe(worker);
        var registration = new RegisterWorker { Node = "w1", Incarnation = 42, Device = "cpu", Threads = 3 };

        parent.ChildActorOf(Props.Create(() => new WorkerRegistrar(registration, TimeSpan.FromMilliseconds(500))));

        var accepted = await parent.ExpectMsgAsync<WorkerAccepted>(Wait);
        Assert.Equal((42L, 7), (accepted.Incarnation, accepted.WorkerIndex));
        var received = await seen.ExpectMsgAsync<RegisterWorker>(Wait);
        Assert.Equal(registration, received);
        // Retries may still be in flight; none of them makes the registrar report twice.
        await parent.ExpectNoMsgAsync(TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task A_node_cut_off_from_the_others_is_downed_by_the_majority_and_its_system_terminates()
    {
        await using var nodes = new ClusterNodes(throttled: true);
        var coordinator = nodes.StartFirst();
        var kept = nodes.StartJoining(ClusterSystem.WorkerRole);
        var cut = nodes.StartJoining(ClusterSystem.WorkerRole);
        await AwaitAssertAsync(() => Assert.Equal(3, AkkaCluster.Get(coordinator).State.Members.Count(m => m.Status == MemberStatus.Up)), Wait);
        var cutAddress = AkkaCluster.Get(cut).SelfAddress;

        var transport = ((RemoteActorRefProvider)((ExtendedActorSystem)cut).Provider).Transport;
        foreach (var other in new[] { coordinator, kept })
        {
            Assert.True(await transport.ManagementCommand(new SetThrottle(AkkaCluster.Get(other).SelfAddress, ThrottleTransportAdapter.Direction.Both, Blackhole.Instance)));
        }

        // Keep-majority: 2 of 3 stay, the cut-off node is downed and runs its coordinated shutdown.
        await AwaitConditionAsync(() => Task.FromResult(cut.WhenTerminated.IsCompleted), TimeSpan.FromSeconds(60));
        await AwaitAssertAsync(
            () =>
            {
                var members = AkkaCluster.Get(coordinator).State.Members;
                Assert.DoesNotContain(members, m => m.Address == cutAddress);
                Assert.Equal(2, members.Count(m => m.Status == MemberStatus.Up));
            },
            TimeSpan.FromSeconds(60));
        Assert.False(coordinator.WhenTerminated.IsCompleted);
        Assert.False(kept.WhenTerminated.IsCompleted);
    }

    /// <summary>A stand-in coordinator: accepts every registration as worker 7 and shows it to a probe.</summary>
    private sealed class AcceptingDesk : ReceiveActor
    {
        public AcceptingDesk(IActorRef seen) => Receive<RegisterWorker>(r =>
        {
            seen.Tell(r);
            Sender.Tell(new WorkerAccepted { Incarnation = r.Incarnation, WorkerIndex = 7, RunId = "run", Fence = 1, DataPlane = "127.0.0.1:1" });
        });
    }
}
