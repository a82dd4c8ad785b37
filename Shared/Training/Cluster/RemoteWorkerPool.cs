using Microsoft.Extensions.Logging;
using RnnCluster.Actors;
using RnnCluster.Cluster;
using RnnCluster.Remote.Actors;
using RnnCluster.Remote.Protocol;
using RnnCluster.Training.Parallel;

namespace RnnCluster.Training.Cluster;

/// <summary>
/// On the coordinator's node: turns cluster membership into worker replicas. Each worker node that
/// comes Up gets a fresh worker index and a <see cref="CreateReplica"/>; once its replica answers
/// <see cref="ReplicaReady"/> the coordinator receives it as a <see cref="WorkersReady"/> (and takes it
/// into the plan at the next step boundary). Replica failures on the remote node become
/// <see cref="RemoteWorkerFailed"/> (retry the shard) or <see cref="WorkerLost"/>; a node that is
/// downed or leaves ends the coordinator's death watch on its worker (a Terminated), through remoting.
/// Lives beside the coordinator, not under it, so a restarted coordinator gets the ready workers again.
/// </summary>
public sealed class RemoteWorkerPool : ReceiveActor
{
    private readonly RemoteMessaging _messaging;
    private readonly CreateReplica _replica;
    private readonly ILogger _logger;
    private readonly Dictionary<string, int> _indexByNode = new(StringComparer.OrdinalIgnoreCase);
    private readonly SortedDictionary<int, IActorRef> _ready = [];
    private IActorRef? _coordinator;
    private int _nextIndex;

    /// <summary><paramref name="replica"/>: what every worker node is asked to build (its worker index is filled in per node).</summary>
    public RemoteWorkerPool(RemoteMessaging messaging, CreateReplica replica, ILoggerFactory loggerFactory)
    {
        _messaging = messaging;
        _replica = replica;
        _logger = loggerFactory.CreateLogger<RemoteWorkerPool>();
        Receive<MemberUp>(OnMemberUp);
        Receive<MemberRemoved>(m => Forget(m.Member, "left the cluster"));
        Receive<MemberDowned>(m => Forget(m.Member, "was downed"));
        Receive<ReplicaReady>(OnReplicaReady);
        Receive<ReplicaFailed>(f => _coordinator?.Tell(new RemoteWorkerFailed(f.WorkerIndex, f.Reason), Self));
        Receive<ReplicaStopped>(OnReplicaStopped);
        Receive<AttachCoordinator>(OnAttach);
    }

    /// <summary>Number of the worker node's agent actor (<c>/user/node</c>).</summary>
    public const string AgentPath = "/user/node";

    protected internal override void PreStart()
    {
        Context.System.EventStream.Subscribe<MemberUp>(Self);
        Context.System.EventStream.Subscribe<MemberRemoved>(Self);
        Context.System.EventStream.Subscribe<MemberDowned>(Self);
    }

    protected internal override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    private static string NodeOf(Member member) =>
        $"rnn://{ClusterNodeOptions.SystemName}@{(member.Address.Host.Contains(':', StringComparison.Ordinal) ? $"[{member.Address.Host}]" : member.Address.Host)}:{member.Address.Port}";

    private void OnMemberUp(MemberUp up)
    {
        if (!up.Member.HasRole(ClusterNodeOptions.WorkerRole))
        {
            return;
        }

        var node = NodeOf(up.Member);
        var index = _nextIndex++;
        _indexByNode[node] = index;
        ClusterTrainingLog.CreatingReplica(_logger, index, up.Member.Address.ToString());
        var create = _replica.Clone();
        create.WorkerIndex = index;
        _messaging.Resolve(node, AgentPath).Tell(create, Self);
    }

    private void OnReplicaReady(ReplicaReady ready)
    {
        if (Sender is null || !_indexByNode.ContainsValue(ready.WorkerIndex))
        {
            return; // a replica of a node that has gone meanwhile
        }

        ClusterTrainingLog.ReplicaReady(_logger, ready.WorkerIndex, Sender.Path.ToString(), ready.Device, ready.Threads);
        _ready[ready.WorkerIndex] = Sender;
        _coordinator?.Tell(new WorkersReady([(ready.WorkerIndex, Sender)]), Self);
    }

    private void OnReplicaStopped(ReplicaStopped stopped)
    {
        if (_ready.Remove(stopped.WorkerIndex))
        {
            _coordinator?.Tell(new WorkerLost(stopped.WorkerIndex, stopped.Reason), Self);
        }
    }

    private void Forget(Member member, string what)
    {
        var node = NodeOf(member);
        if (_indexByNode.Remove(node, out var index) && _ready.Remove(index))
        {
            // The coordinator hears it as a Terminated through its death watch; this is the log line.
            ClusterTrainingLog.WorkerNodeGone(_logger, index, member.Address.ToString(), what);
        }
    }

    private void OnAttach(AttachCoordinator attach)
    {
        _coordinator = attach.Coordinator;
        if (_ready.Count > 0)
        {
            _coordinator.Tell(new WorkersReady([.. _ready.Select(p => (p.Key, p.Value))]), Self);
        }
    }
}

/// <summary>Coordinator → pool: send me the ready workers, now and as they come.</summary>
public sealed record AttachCoordinator(IActorRef Coordinator);

/// <summary>Pool → coordinator: a remote replica failed a shard and was restarted by its node; retry the shard.</summary>
public sealed record RemoteWorkerFailed(int WorkerIndex, string Reason);

/// <summary>Pool → coordinator: a remote replica was stopped after repeated failures; re-plan without it.</summary>
public sealed record WorkerLost(int WorkerIndex, string Reason);
