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
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(500);

    [Fact]
    public async Task An_answer_from_a_coordinator_older_than_one_the_worker_served_is_ignored_and_a_current_one_accepted()
    {
        var registration = new RegisterWorker { Node = "akka.tcp://rnncluster@127.0.0.1:1", Incarnation = 7, FenceSeen = 5, HeldStep = -1 };
        var registrar = ChildActorOf(Props.Create(() => new WorkerRegistrar(registration, TimeSpan.FromSeconds(1), null)));

        // A stale (fenced) coordinator still answering, e.g. from the minority side of a partition.
        registrar.Tell(new WorkerAccepted { Fence = 4, Incarnation = 7, WorkerIndex = 0 });
        await ExpectNoMsgAsync(Quiet);
        registrar.Tell(new WorkerAccepted { Fence = 6, Incarnation = 7, WorkerIndex = 1 });

        var accepted = await ExpectMsgAsync<WorkerAccepted>();
        Assert.Equal(6, accepted.Fence);
    }

    [Fact]
    public async Task An_answer_to_another_incarnation_of_the_node_is_not_this_one_s()
    {
        var registration = new RegisterWorker { Node = "akka.tcp://rnncluster@127.0.0.1:1", Incarnation = 8, HeldStep = -1 };
        var registrar = ChildActorOf(Props.Create(() => new WorkerRegistrar(registration, TimeSpan.FromSeconds(1), null)));

        registrar.Tell(new WorkerAccepted { Fence = 1, Incarnation = 7 });
        await ExpectNoMsgAsync(Quiet);
        registrar.Tell(new WorkerRefused { Reason = "the run has finished", Incarnation = 8 });

        Assert.Equal("the run has finished", (await ExpectMsgAsync<WorkerRefused>()).Reason);
    }
}
