using Microsoft.Extensions.Logging;
using RnnCluster.Actors;
using RnnCluster.DataPlane.Transport;
using RnnCluster.Remote.Actors;
using RnnCluster.Remote.Protocol;

namespace RnnCluster.Cluster;

/// <summary>
/// The cluster daemon of a worker node (<c>/system/cluster</c>): keeps a connection to every seed,
/// sends <see cref="JoinRequest"/>s until one is welcomed, and afterwards follows the coordinator:
/// a coordinator that comes back as a new incarnation is joined again; one that stays away longer
/// than <c>cluster.join-timeout</c>, like seeds that never answer, ends in <see cref="JoinFailed"/>.
/// Being downed (or refused as a dead incarnation) is published as <see cref="DownedByLeader"/>, for
/// the host to rejoin as a new incarnation. Everything the host needs is published on the EventStream.
/// </summary>
public sealed class ClusterJoiner : ReceiveActor
{
    private const string JoinTimer = "join";
    private const string DeadlineTimer = "deadline";
    private static readonly TimeSpan JoinRetry = TimeSpan.FromMilliseconds(500);

    private readonly ClusterNodeOptions _options;
    private readonly RemoteMessaging _messaging;
    private readonly RemoteTransport _transport;
    private readonly ILogger _logger;
    private string? _leader;
    private ulong _leaderIncarnation;
    private bool _leaving;

    public ClusterJoiner(ClusterNodeOptions options, RemoteMessaging messaging, RemoteTransport transport, ILoggerFactory loggerFactory)
    {
        _options = options;
        _messaging = messaging;
        _transport = transport;
        _logger = loggerFactory.CreateLogger<ClusterJoiner>();
        Receive<SendJoin>(_ => SendJoins());
        Receive<Deadline>(d => Context.System.EventStream.Publish(new JoinFailed(d.Message)));
        Receive<Welcome>(OnWelcome);
        Receive<JoinRefused>(r => Downed(r.Reason));
        Receive<MemberDownedNotice>(n => Downed(n.Reason));
        Receive<RunFinished>(f => Context.System.EventStream.Publish(new ClusterRunFinished(f.Message)));
        Receive<PeerEvent>(OnPeerEvent);
        Receive<HeartbeatReceived>(_ => { });
        Receive<LeaveCluster>(_ => Leave());
        Receive<LeaveAccepted>(_ => Context.System.EventStream.Publish(new LeftCluster()));
    }

    private string SeedList => string.Join(", ", _options.Seeds);

    protected internal override void PreStart()
    {
        foreach (var seed in _options.Seeds)
        {
            _transport.Connect(NodeAddresses.NodeAddress(seed.Host, seed.Port));
        }

        ClusterLog.Joining(_logger, SeedList);
        StartJoining($"no seed admitted this node within cluster.join-timeout = {_options.Settings.JoinTimeout.TotalSeconds:0.###}s; seeds tried: {SeedList} (is the coordinator running with --cluster and the same cluster.secret?)");
    }

    private void StartJoining(string failure)
    {
        _leader = null;
        Context.Timers.StartPeriodicTimer(JoinTimer, SendJoin.Instance, TimeSpan.Zero, JoinRetry);
        Context.Timers.StartSingleTimer(DeadlineTimer, new Deadline(failure), _options.Settings.JoinTimeout);
    }

    private void SendJoins()
    {
        var request = new JoinRequest
        {
            NodeAddress = _messaging.System.Address.ToString(),
            Incarnation = _options.Incarnation,
            Device = _options.Device,
            Threads = _options.Threads,
        };
        request.Roles.Add(_options.Role);
        var connected = _transport.ConnectedPeers.Select(p => p.Address).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var seed in _options.Seeds)
        {
            // Only over open connections: the transport keeps dialling the others, and a request
            // into the void would only add a warning per retry.
            var address = NodeAddresses.NodeAddress(seed.Host, seed.Port);
            if (connected.Contains(address))
            {
                _messaging.Resolve(address, NodeAddresses.DaemonPath).Tell(request, Self);
            }
        }
    }

    private void OnWelcome(Welcome welcome)
    {
        if (_leader is not null)
        {
            return;
        }

        Context.Timers.Cancel(JoinTimer);
        Context.Timers.Cancel(DeadlineTimer);
        _leader = welcome.LeaderAddress;
        _leaderIncarnation = welcome.LeaderIncarnation;
        ClusterLog.Welcomed(_logger, _leader, _messaging.System.Address.ToString());
        Context.System.EventStream.Publish(new JoinedCluster(_leader, _leaderIncarnation));
    }

    private void OnPeerEvent(PeerEvent peerEvent)
    {
        if (peerEvent.Kind == PeerEventKind.Disconnected && ClusterFarewell.IsRunFinished(peerEvent.Farewell, out var finished) && IsLeaderOrSeed(peerEvent.Peer.Address))
        {
            // The coordinator's last word: the run is over, even if its RunFinished message missed this
            // node (it was joining again at that moment).
            Context.System.EventStream.Publish(new ClusterRunFinished(finished));
            return;
        }

        if (_leader is null || !SameNode(peerEvent.Peer.Address, _leader))
        {
            return;
        }

        if (peerEvent.Kind == PeerEventKind.Disconnected && !_leaving)
        {
            ClusterLog.LeaderLost(_logger, _leader, _options.Settings.JoinTimeout);
            Context.Timers.StartSingleTimer(DeadlineTimer, new Deadline($"lost the coordinator {_leader} and it did not come back within cluster.join-timeout = {_options.Settings.JoinTimeout.TotalSeconds:0.###}s; seeds tried: {SeedList}"), _options.Settings.JoinTimeout);
        }
        else if (peerEvent.Kind == PeerEventKind.Connected)
        {
            if (peerEvent.Peer.Incarnation != _leaderIncarnation)
            {
                // A restarted coordinator knows nothing of this node: join it again.
                ClusterLog.LeaderRestarted(_logger, _leader);
                Context.System.EventStream.Publish(new LeaderRestarted(peerEvent.Peer.Address));
                StartJoining($"the coordinator came back but did not admit this node within cluster.join-timeout; seeds tried: {SeedList}");
            }
            else
            {
                Context.Timers.Cancel(DeadlineTimer);
            }
        }
    }

    private void Downed(string reason)
    {
        ClusterLog.DownedByLeader(_logger, reason);
        Context.Timers.Cancel(JoinTimer);
        Context.Timers.Cancel(DeadlineTimer);
        Context.System.EventStream.Publish(new DownedByLeader(reason));
    }

    private void Leave()
    {
        _leaving = true;
        if (_leader is null)
        {
            Context.System.EventStream.Publish(new LeftCluster());
            return;
        }

        _messaging.Resolve(_leader, NodeAddresses.DaemonPath).Tell(new LeaveRequest { Incarnation = _options.Incarnation }, Self);
    }

    private static bool SameNode(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    private bool IsLeaderOrSeed(string address) =>
        (_leader is not null && SameNode(address, _leader)) || _options.Seeds.Any(seed => SameNode(address, NodeAddresses.NodeAddress(seed.Host, seed.Port)));

    private sealed record SendJoin
    {
        public static SendJoin Instance { get; } = new();
    }

    private sealed record Deadline(string Message);
}

/// <summary>The coordinator came back as a new incarnation: replicas it had are gone with it.</summary>
public sealed record LeaderRestarted(string LeaderAddress);
