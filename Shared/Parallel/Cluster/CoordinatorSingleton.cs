using Akka.Actor;
using Akka.Cluster.Tools.Singleton;

namespace RnnCluster.Parallel.Cluster;

/// <summary>
/// The coordinator as a cluster singleton: one per cluster, on the oldest member with the
/// <c>coordinator</c> role; every coordinator-eligible node starts the manager, and the singleton
/// moves when its node leaves or is downed. Run at least two coordinator-eligible nodes for failover.
/// </summary>
public static class CoordinatorSingleton
{
    /// <summary>The manager's name under /user on every coordinator-eligible node (the proxies' path).</summary>
    public const string ManagerName = "coordinator";

    /// <summary>Starts the manager of <paramref name="singleton"/> on this node; <paramref name="stop"/> is what a hand-over sends it.</summary>
    public static IActorRef Start(ActorSystem system, Props singleton, object stop)
    {
        ArgumentNullException.ThrowIfNull(system);
        return system.ActorOf(
            ClusterSingletonManager.Props(singleton, stop, ClusterSingletonManagerSettings.Create(system).WithRole(ClusterSystem.CoordinatorRole)),
            ManagerName);
    }
}
