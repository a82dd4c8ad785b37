using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using RnnCluster.Actors;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Transport;
using RnnCluster.Remote;
using RnnCluster.Remote.Actors;

namespace RnnCluster.Cluster;

/// <summary>
/// One node of a cluster: a <see cref="RemoteTransport"/> (listener + connections), an
/// <see cref="ActorSystem"/> addressed by the transport's endpoint, <see cref="RemoteMessaging"/>
/// between the two, and the cluster daemon at <c>/system/cluster</c> — a <see cref="ClusterLeader"/>
/// on the coordinator, a <see cref="ClusterJoiner"/> on workers. Heartbeats and connection events are
/// pumped from the transport into the daemon.
/// </summary>
public sealed class ClusterNode : IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _pumps = Task.CompletedTask;
    private int _disposed;

    private ClusterNode(ClusterNodeOptions options, RemoteTransport transport, ActorSystem system, RemoteMessaging messaging)
    {
        Options = options;
        Transport = transport;
        System = system;
        Messaging = messaging;
    }

    public ClusterNodeOptions Options { get; }

    public RemoteTransport Transport { get; }

    public ActorSystem System { get; }

    public RemoteMessaging Messaging { get; }

    /// <summary>The cluster daemon (<c>/system/cluster</c>).</summary>
    public IActorRef Daemon { get; private set; } = null!;

    public NodeIdentity Identity => Transport.LocalIdentity;

    /// <summary>Starts the transport, the actor system and the daemon; a worker starts joining at once.</summary>
    /// <exception cref="Config.ConfigException">The secret is missing where one is required.</exception>
    public static async Task<ClusterNode> StartAsync(
        ClusterNodeOptions options,
        MessageRegistry registry,
        ILoggerFactory loggerFactory,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ArgumentNullException.ThrowIfNull(time);
        var secret = ClusterNodeOptions.LoadSecret(options.Settings);
        var transport = new RemoteTransport(
            options.TransportOptions(), secret, registry, options.Incarnation, loggerFactory, time,
            new Random(unchecked((int)options.Incarnation)), RandomNumberGenerator.Create());
        try
        {
            await transport.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await transport.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        var port = new Uri(transport.LocalIdentity.Address).Port;
        var system = ActorSystem.Create(ClusterNodeOptions.SystemName, new ActorSystemOptions
        {
            LoggerFactory = loggerFactory,
            TimeProvider = time,
            UserGuardianStrategy = options.UserGuardianStrategy,
            Host = options.Settings.Host,
            Port = port,
        });
        var messaging = new RemoteMessaging(system, transport, loggerFactory)
        {
            // Membership messages are tiny and decide who is in the cluster: never behind a gradient.
            Priority = message => message is Remote.Protocol.JoinRequest or Remote.Protocol.Welcome or Remote.Protocol.JoinRefused
                or Remote.Protocol.LeaveRequest or Remote.Protocol.LeaveAccepted or Remote.Protocol.MemberDownedNotice or Remote.Protocol.RunFinished
                ? MessagePriority.Control
                : MessagePriority.Ordinary,
        };
        var node = new ClusterNode(options, transport, system, messaging);
        messaging.Start();
        node.Daemon = options.IsLeader
            ? system.SystemActorOf(Props.Create(() => new ClusterLeader(options, messaging, loggerFactory)), "cluster")
            : system.SystemActorOf(Props.Create(() => new ClusterJoiner(options, messaging, transport, loggerFactory)), "cluster");
        node._pumps = Task.WhenAll(
            Task.Run(() => PumpAsync(transport.Heartbeats, node.Daemon, node._stopping.Token)),
            Task.Run(() => PumpAsync(transport.PeerEvents, node.Daemon, node._stopping.Token)));
        return node;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await System.Terminate().ConfigureAwait(false);
        await Messaging.DisposeAsync().ConfigureAwait(false);
        await Transport.DisposeAsync().ConfigureAwait(false);
        try
        {
            await _pumps.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stopping.Dispose();
    }

    private static async Task PumpAsync<T>(System.Threading.Channels.ChannelReader<T> reader, IActorRef daemon, CancellationToken stopping)
        where T : notnull
    {
        await foreach (var item in reader.ReadAllAsync(stopping).ConfigureAwait(false))
        {
            daemon.Tell(item, null);
        }
    }
}
