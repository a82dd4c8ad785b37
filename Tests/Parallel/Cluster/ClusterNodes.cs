using Akka.Actor;
using Microsoft.Extensions.Logging.Abstractions;
using RnnCluster.Config;
using RnnCluster.Parallel.Cluster;
using AkkaCluster = Akka.Cluster.Cluster;

namespace RnnCluster.Tests.Parallel.Cluster;

/// <summary>Akka.Cluster nodes in one process on loopback, configured as the executables configure theirs.</summary>
internal sealed class ClusterNodes : IAsyncDisposable
{
    // Fast detection and gossip for tests.
    private static readonly Akka.Configuration.Config TestExtras = Akka.Configuration.ConfigurationFactory.ParseString(
        """
        akka.cluster.split-brain-resolver.stable-after = 2s
        akka.cluster.unreachable-nodes-reaper-interval = 250ms
        akka.cluster.gossip-interval = 250ms
        akka.cluster.leader-actions-interval = 250ms
        """);

    // The throttler lets a spec cut a node off (blackhole) without touching sockets. It changes the
    // address protocol (akka.trttl.tcp), so throttled nodes join programmatically, not through seeds.
    private static readonly Akka.Configuration.Config Throttled = Akka.Configuration.ConfigurationFactory.ParseString(
        "akka.remote.dot-netty.tcp.applied-adapters = [trttl]").WithFallback(TestExtras);

    private readonly List<ActorSystem> _systems = [];
    private readonly bool _throttled;

    /// <param name="throttled">Nodes get Akka.Remote's throttler (for partitions) and join programmatically.</param>
    public ClusterNodes(bool throttled = false) => _throttled = throttled;

    public static ClusterSettings Settings(params string[] seeds) => ClusterSettings.Default with
    {
        Port = 0,
        Seeds = seeds,
        HeartbeatInterval = TimeSpan.FromMilliseconds(250),
        AcceptableHeartbeatPause = TimeSpan.FromSeconds(1),
    };

    public IReadOnlyList<ActorSystem> Systems => _systems;

    /// <summary>The first node: a coordinator that forms the cluster by joining itself.</summary>
    public ActorSystem StartFirst(string role = ClusterSystem.CoordinatorRole)
    {
        var system = Start(Settings(), role);
        AkkaCluster.Get(system).Join(AkkaCluster.Get(system).SelfAddress);
        return system;
    }

    /// <summary>A node that joins through the first node's address (its <c>cluster.seeds</c>).</summary>
    public ActorSystem StartJoining(string role)
    {
        var seed = AkkaCluster.Get(_systems[0]).SelfAddress;
        if (!_throttled)
        {
            return Start(Settings($"{seed.Host}:{seed.Port}"), role);
        }

        var system = Start(Settings(), role);
        AkkaCluster.Get(system).Join(seed);
        return system;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var system in _systems)
        {
            await system.Terminate();
        }
    }

    private ActorSystem Start(ClusterSettings settings, string role)
    {
        var system = ClusterSystem.Create(ClusterSystem.Config(settings, role, _throttled ? Throttled : TestExtras), NullLoggerFactory.Instance);
        _systems.Add(system);
        return system;
    }
}
