using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using RnnCluster.Actors;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Transport;
using RnnCluster.Remote.Actors;
using RnnCluster.Remote.Protocol;

namespace RnnCluster.Cluster;

/// <summary>
/// The cluster daemon of the coordinator's node (<c>/system/cluster</c>): admits joining nodes,
/// watches their heartbeats with one phi-accrual detector each, marks them unreachable and downs
/// them after <c>cluster.down-unreachable-after</c>, and publishes every change on the EventStream
/// (<see cref="MemberUp"/>, <see cref="MemberDowned"/>, <see cref="MemberRemoved"/>, …). A downed or
/// removed incarnation is refused from then on: its join, and every late message (the
/// <see cref="RemoteMessaging.Gate"/>), so old-generation gradients never reach the coordinator.
/// </summary>
public sealed class ClusterLeader : ReceiveActor
{
    private static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ProbeRetryDelay = TimeSpan.FromMilliseconds(200);
    private const int ProbeAttempts = 3;

    private readonly ClusterNodeOptions _options;
    private readonly RemoteMessaging _messaging;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly MembershipTable _table = new();
    private readonly Dictionary<UniqueAddress, PhiAccrualFailureDetector> _detectors = [];
    private readonly Dictionary<UniqueAddress, string> _nodeAddresses = [];
    private readonly ConcurrentDictionary<string, long> _deadIncarnations;

    public ClusterLeader(ClusterNodeOptions options, RemoteMessaging messaging, ILoggerFactory loggerFactory)
    {
        _options = options;
        _messaging = messaging;
        _time = messaging.System.TimeProvider;
        _logger = loggerFactory.CreateLogger<ClusterLeader>();
        _deadIncarnations = new(StringComparer.OrdinalIgnoreCase);
        messaging.Gate = Refusal;
        Receive<JoinRequest>(OnJoin);
        Receive<LeaveRequest>(OnLeave);
        Receive<HeartbeatReceived>(OnHeartbeat);
        Receive<PeerEvent>(OnPeerEvent);
        Receive<Tick>(_ => CheckReachability());
        Receive<SendRunFinished>(OnRunFinished);
        Receive<ProbeResult>(OnProbeResult);
    }

    /// <summary>Members as the leader sees them now (for tests and status).</summary>
    public sealed record GetMembers
    {
        public static GetMembers Instance { get; } = new();
    }

    /// <summary>Tells every live member that the run is over.</summary>
    public sealed record SendRunFinished(string Message);

    protected internal override void PreStart()
    {
        Context.Timers.StartPeriodicTimer("tick", Tick.Instance, TickInterval);
        Receive<GetMembers>(_ => Sender?.Tell(_table.Members, Self));
    }

    private long NowMs => _time.GetTimestamp() * 1000 / _time.TimestampFrequency;

    private string? Refusal(NodeIdentity peer, object message)
    {
        if (message is JoinRequest)
        {
            // Joins are judged by the membership table, which answers a dead incarnation with a refusal.
            return null;
        }

        var address = NodeAddresses.ToUnique(peer);
        return _deadIncarnations.TryGetValue(address.Endpoint, out var dead) && dead >= address.Incarnation
            ? $"incarnation {address.Incarnation} of {address.Endpoint} was downed or removed; its messages are refused"
            : null;
    }

    private void OnJoin(JoinRequest join)
    {
        UniqueAddress address;
        try
        {
            address = NodeAddresses.ToUnique(join.NodeAddress, join.Incarnation);
        }
        catch (UriFormatException)
        {
            ClusterLog.BadJoin(_logger, join.NodeAddress);
            return;
        }

        var reply = Sender ?? _messaging.Resolve(join.NodeAddress, NodeAddresses.DaemonPath);
        var result = _table.Join(address, [.. join.Roles]);
        if (!result.Accepted)
        {
            ClusterLog.JoinRefused(_logger, address.ToString(), result.RefusalReason!);
            reply.Tell(new JoinRefused { Reason = result.RefusalReason }, Self);
            return;
        }

        foreach (var e in result.Events)
        {
            if (e is MemberDowned { Member: var previous })
            {
                // The same endpoint restarted before its old incarnation was noticed as gone.
                ClusterLog.Downed(_logger, previous.Address.ToString(), TimeSpan.Zero);
                Publish([e]);
                Gone(previous.Address, _table.Remove(previous.Address));
            }
            else
            {
                Publish([e]);
            }
        }

        if (_table.Find(address) is { Status: MemberStatus.Joining })
        {
            _nodeAddresses[address] = join.NodeAddress;
            var detector = new PhiAccrualFailureDetector(_options.DetectorOptions());
            detector.Heartbeat(NowMs);
            _detectors[address] = detector;
            ClusterLog.Joined(_logger, address.ToString(), string.Join(",", join.Roles), join.Device, join.Threads);
            Publish(_table.MarkUp(address));
        }

        // Repeated joins (the joiner retries until welcomed) get the same answer.
        reply.Tell(new Welcome { LeaderAddress = _messaging.System.Address.ToString(), LeaderIncarnation = _options.Incarnation }, Self);
    }

    private void OnLeave(LeaveRequest leave)
    {
        var member = _table.Members.FirstOrDefault(m => m.Address.Incarnation == (long)Math.Min(leave.Incarnation, long.MaxValue) && m.IsLive && Sender is not null && Sender.Path.Address.ToString() == _nodeAddresses.GetValueOrDefault(m.Address));
        if (member is null)
        {
            return;
        }

        ClusterLog.Leaving(_logger, member.Address.ToString());
        if (member.Status == MemberStatus.Up)
        {
            Publish(_table.Leave(member.Address));
        }

        if (_table.Find(member.Address) is { Status: MemberStatus.Leaving })
        {
            Publish(_table.Exiting(member.Address));
        }

        Gone(member.Address, _table.Remove(member.Address));
        Sender?.Tell(new LeaveAccepted(), Self);
    }

    private void OnHeartbeat(HeartbeatReceived heartbeat)
    {
        var address = NodeAddresses.ToUnique(heartbeat.Peer);
        if (_detectors.TryGetValue(address, out var detector))
        {
            detector.Heartbeat(heartbeat.ReceivedTimestamp * 1000 / _time.TimestampFrequency);
        }
    }

    private void OnPeerEvent(PeerEvent peerEvent)
    {
        ClusterLog.PeerEvent(_logger, peerEvent.Kind.ToString(), peerEvent.Peer.ToString(), peerEvent.Reason ?? "");
        if (peerEvent.Kind == PeerEventKind.Disconnected)
        {
            ProbeAfterDisconnect(NodeAddresses.ToUnique(peerEvent.Peer));
        }

        if (peerEvent.Kind == PeerEventKind.Connected && Refusal(peerEvent.Peer, peerEvent) is { } reason)
        {
            // A downed node reconnecting after a partition heals still believes it is a member: tell it,
            // so it rejoins as a new incarnation instead of waiting for work that never comes.
            _messaging.Resolve(peerEvent.Peer.Address, NodeAddresses.DaemonPath).Tell(new MemberDownedNotice { Reason = reason }, Self);
        }
    }

    private void CheckReachability()
    {
        var now = NowMs;
        foreach (var member in _table.Members)
        {
            if (!member.IsLive || !_detectors.TryGetValue(member.Address, out var detector))
            {
                continue;
            }

            var available = detector.IsAvailable(now);
            var unreachable = _table.IsUnreachable(member.Address);
            if (!available && !unreachable)
            {
                ClusterLog.Unreachable(_logger, member.Address.ToString(), detector.Phi(now));
                Publish(_table.MarkUnreachable(member.Address, now));
            }
            else if (available && unreachable)
            {
                ClusterLog.Reachable(_logger, member.Address.ToString());
                Publish(_table.MarkReachable(member.Address));
            }
        }

        foreach (var downed in _table.DownUnreachable(now, _options.Settings.DownUnreachableAfter))
        {
            ClusterLog.Downed(_logger, downed.Address.ToString(), _options.Settings.DownUnreachableAfter);
            Publish([new MemberDowned(downed)]);
            if (_nodeAddresses.TryGetValue(downed.Address, out var node))
            {
                // Best effort: a paused process reads this when it wakes up and rejoins as a new incarnation.
                _messaging.Resolve(node, NodeAddresses.DaemonPath).Tell(new MemberDownedNotice { Reason = $"downed by the coordinator after being unreachable (phi > {_options.Settings.PhiThreshold})" }, Self);
            }

            Gone(downed.Address, _table.Remove(downed.Address));
        }
    }

    /// <summary>
    /// A member's connection closed. If its port now refuses connections, its process is gone (a
    /// crash, kill -9): down it at once instead of waiting ~4 s for the failure detector. A timeout
    /// (a partition) or an accepted connection (a paused process still has its listener) proves
    /// nothing, and the detector decides as usual.
    /// </summary>
    private void ProbeAfterDisconnect(UniqueAddress address)
    {
        if (_table.Find(address) is not { IsLive: true })
        {
            return;
        }

        var self = Self;
        _ = ProbeAsync(address.Host, address.Port).ContinueWith(
            t => self.Tell(new ProbeResult(address, t.Result), null),
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>
    /// True when the port refuses connections. An accepted connection is tried again a few times:
    /// a killed process's connections can close a moment before its listener does.
    /// </summary>
    private async Task<bool> ProbeAsync(string host, int port)
    {
        for (var attempt = 1; ; attempt++)
        {
            var result = await ProbeOnceAsync(host, port).ConfigureAwait(false);
            if (result != false || attempt == ProbeAttempts)
            {
                return result == true;
            }

            await Task.Delay(ProbeRetryDelay, _time, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>True: refused; false: accepted; null: timed out or failed otherwise (proves nothing, no retry).</summary>
    private static async Task<bool?> ProbeOnceAsync(string host, int port)
    {
        using var client = new System.Net.Sockets.TcpClient();
        using var timeout = new CancellationTokenSource(ProbeTimeout);
        try
        {
            await client.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
            return false;
        }
        catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode == System.Net.Sockets.SocketError.ConnectionRefused)
        {
            return true;
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or OperationCanceledException)
        {
            return null;
        }
    }

    private void OnProbeResult(ProbeResult probe)
    {
        if (!probe.Refused || _table.Find(probe.Address) is not { IsLive: true } member)
        {
            return;
        }

        ClusterLog.ProcessGone(_logger, member.Address.ToString());
        var downed = _table.Down(member.Address);
        Publish(downed);
        Gone(member.Address, _table.Remove(member.Address));
    }

    private void OnRunFinished(SendRunFinished finished)
    {
        foreach (var member in _table.Members.Where(m => m.IsLive))
        {
            if (_nodeAddresses.TryGetValue(member.Address, out var node))
            {
                _messaging.Resolve(node, NodeAddresses.DaemonPath).Tell(new RunFinished { Message = finished.Message }, Self);
            }
        }

        Sender?.Tell(finished, Self);
    }

    /// <summary>A member left the cluster: refuse its incarnation from now on and end the death watch on its actors.</summary>
    private void Gone(UniqueAddress address, IReadOnlyList<MemberEvent> removal)
    {
        _deadIncarnations.AddOrUpdate(address.Endpoint, address.Incarnation, (_, old) => Math.Max(old, address.Incarnation));
        _detectors.Remove(address);
        Publish(removal);
        if (_nodeAddresses.Remove(address, out var node))
        {
            _messaging.NodeGone(node);
        }
    }

    private void Publish(IReadOnlyList<MemberEvent> events)
    {
        foreach (var e in events)
        {
            Context.System.EventStream.Publish(e);
        }
    }

    private sealed record ProbeResult(UniqueAddress Address, bool Refused);

    private sealed record Tick
    {
        public static Tick Instance { get; } = new();
    }
}
