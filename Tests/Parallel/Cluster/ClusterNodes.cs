using Akka.Actor;
using Microsoft.Extensions.Logging;
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
    private readonly ILoggerFactory _loggerFactory;

    /// <param name="throttled">Nodes get Akka.Remote's throttler (for partitions) and join programmatically.</param>
    /// <param name="loggerFactory">Where every node's log goes; none by default.</param>
    public ClusterNodes(bool throttled = false, ILoggerFactory? loggerFactory = null)
    {
        _throttled = throttled;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
    }

    public static ClusterSettings Settings(params string[] seeds) => ClusterSettings.Default with
    {
        Port = 0,
        Seeds = seeds,
        HeartbeatInterval = TimeSpan.FromMilliseconds(250),
        AcceptableHeartbeatPause = TimeSpan.FromSeconds(1),
    };

    public IReadOnlyList<ActorSystem> Systems => _systems;

    /// <summary>The first node: a coordinator that forms the cluster by joining itself.</summary>
    /// <param name="configure">Changes to the node's <see cref="Settings"/> (TLS files, say).</param>
    public ActorSystem StartFirst(string role = ClusterSystem.CoordinatorRole, Func<ClusterSettings, ClusterSettings>? configure = null)
    {
        var system = Start(Settings(), role, configure);
        AkkaCluster.Get(system).Join(AkkaCluster.Get(system).SelfAddress);
        return system;
    }

    /// <summary>A node that joins through the first node's address (its <c>cluster.seeds</c>).</summary>
    /// <param name="configure">Changes to the node's <see cref="Settings"/> (TLS files, say).</param>
    public ActorSystem StartJoining(string role, Func<ClusterSettings, ClusterSettings>? configure = null)
    {
        var seed = AkkaCluster.Get(_systems[0]).SelfAddress;
        if (!_throttled)
        {
            return Start(Settings($"{seed.Host}:{seed.Port}"), role, configure);
        }

        var system = Start(Settings(), role, configure);
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

    private ActorSystem Start(ClusterSettings settings, string role, Func<ClusterSettings, ClusterSettings>? configure)
    {
        var system = ClusterSystem.Create(configure is null ? settings : configure(settings), role, _loggerFactory, _throttled ? Throttled : TestExtras);
        _systems.Add(system);
        return system;
    }
}
