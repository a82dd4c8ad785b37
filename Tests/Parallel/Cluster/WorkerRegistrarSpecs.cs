using Akka.Actor;
using Xunit.Abstractions;
using Akka.TestKit.Xunit2;
using RnnCluster.Parallel.Cluster;
using RnnCluster.Parallel.Cluster.Wire;

namespace RnnCluster.Tests.Parallel.Cluster;

/// <summary>A worker's registrations and the coordinator fences it has seen.</summary>
public sealed class WorkerRegistrarSpecs(ITestOutputHelper output)
    : TestKit(ClusterSystem.Config(ClusterNodes.Settings(), ClusterSystem.WorkerRole), output: output)
{
    [Fact]
    public async Task An_answer_from_a_coordinator_older_than_one_the_worker_served_is_ignored_and_a_current_one_accepted()
    {
        var registration = new RegisterWorker { Node = "akka.tcp://rnncluster@127.0.0.1:1", Incarnation = 7, FenceSeen = 5, HeldStep = -1 };
        var registrar = ChildActorOf(Props.Create(() => new WorkerRegistrar(registration, TimeSpan.FromSeconds(1), null)));

        // A stale (fenced) coordinator still answering, e.g. from the minority side of a partition.
        // No quiet window: the registrar handles its mailbox in order, so had it reported the stale answer,
        // that report would be the first message here and fail the fence check below.
        registrar.Tell(new WorkerAccepted { Fence = 4, Incarnation = 7, WorkerIndex = 0 });
        registrar.Tell(new WorkerAccepted { Fence = 6, Incarnation = 7, WorkerIndex = 1 });

        var accepted = await ExpectMsgAsync<WorkerAccepted>();
        Assert.Equal((6L, 1), (accepted.Fence, accepted.WorkerIndex));
    }

    [Fact]
    public async Task An_answer_to_another_incarnation_of_the_node_is_not_this_one_s()
    {
        var registration = new RegisterWorker { Node = "akka.tcp://rnncluster@127.0.0.1:1", Incarnation = 8, HeldStep = -1 };
        var registrar = ChildActorOf(Props.Create(() => new WorkerRegistrar(registration, TimeSpan.FromSeconds(1), null)));

        // In mailbox order: a report of the other incarnation's answer would arrive before the refusal.
        registrar.Tell(new WorkerAccepted { Fence = 1, Incarnation = 7 });
        registrar.Tell(new WorkerRefused { Reason = "the run has finished", Incarnation = 8 });

        Assert.Equal("the run has finished", (await ExpectMsgAsync<WorkerRefused>()).Reason);
    }
}
