using Akka.Actor;
using Microsoft.Extensions.Logging;
using RnnCluster.Config;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.AllReduce;
using RnnCluster.DataPlane.Tensors;
using RnnCluster.Parallel.Cluster.Wire;
using RnnCluster.Training.Parallel;

namespace RnnCluster.Parallel.Cluster;

/// <summary>What ends a worker node's part in the run, for its process to exit with.</summary>
public abstract record WorkerNodeOutcome(string Message);

/// <summary>The coordinator finished the run: exit 0.</summary>
public sealed record RunEnded(string Message) : WorkerNodeOutcome(Message);

/// <summary>No coordinator answered for <c>cluster.join-timeout</c>: start the worker again (exit 3).</summary>
public sealed record CoordinatorGone(string Message) : WorkerNodeOutcome(Message);

/// <summary>This node cannot take part (refused, or its replica failed for good): exit non-zero.</summary>
public sealed record WorkerGaveUp(string Message) : WorkerNodeOutcome(Message);

/// <summary>What a worker node needs from its process.</summary>
public sealed class WorkerNodeOptions
{
    public required RegisterWorker Registration { get; init; }

    public required TensorTransport DataPlane { get; init; }

    /// <summary>This node's own runtime settings: the device and threads are the node's, the model is the run's.</summary>
    public required RuntimeSettings Runtime { get; init; }

    public required ILoggerFactory LoggerFactory { get; init; }

    public required TimeProvider Time { get; init; }

    public TimeSpan RegisterRetry { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The seed nodes' addresses (registrations also go to the singleton's path there).</summary>
    public IReadOnlyList<Address> Seeds { get; init; } = [];

    /// <summary>
    /// How long the node registers without an answer before it gives up (<c>cluster.join-timeout</c>): a
    /// coordinator restarted by its launcher forms a new cluster this node's actor system cannot join,
    /// so the process exits and its launcher starts it again, joining through the seeds.
    /// </summary>
    public TimeSpan CoordinatorTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Test-only (<c>cluster.test-faults</c>): every reply to the coordinator is held this long.</summary>
    public TimeSpan TestSendDelay { get; init; }

    public required TaskCompletionSource<WorkerNodeOutcome> Outcome { get; init; }
}

/// <summary>
/// A worker process's part in a cluster run, as a state machine: <see cref="Registering"/> with the
/// coordinator singleton (retried until answered); <see cref="Connecting"/> to the coordinator's data
/// plane; <see cref="Working"/>: one <see cref="WorkerActor"/> under a <see cref="WorkerSupervisor"/>
/// computes the shards that arrive through a <see cref="StepLink"/>. A lost data plane (the coordinator
/// died or moved) drops the replica and registers again; the run's end, a refusal, or a replica the
/// supervisor stopped for good ends the node.
/// </summary>
public sealed class WorkerNode : ReceiveActor, IWithTimers
{
    private const string CoordinatorTimer = "coordinator";

    private readonly WorkerNodeOptions _options;
    private readonly ILogger _logger;
    private IActorRef? _registrar;
    private IActorRef? _supervisor;
    private IActorRef? _link;
    private IActorRef? _worker;
    private int _replicas;
    private long _fence;
    // The run as of the newest step command: what a coordinator taking over rebuilds from.
    private SnapshotCopy? _held;
    // All-reduce mode: the trainer's part of the run from the newest command (the replica holds the rest),
    // this node's inbound peer connections, the current generation's group and the run's all-reduce settings.
    private RunSnapshot? _trainer;
    private PeerConnections? _peers;
    private GroupExchange? _group;
    private AllReduceOptions _allReduce = new();
    private string _runId = "";

    public WorkerNode(WorkerNodeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = options.LoggerFactory.CreateLogger<WorkerNode>();
        Become(Registering);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart() => StartRegistering();

    private void Registering()
    {
        Receive<NoCoordinator>(_ => End(new CoordinatorGone($"no coordinator answered within cluster.join-timeout = {_options.CoordinatorTimeout.TotalSeconds:0} s (seeds: {string.Join(", ", _options.Seeds.Select(a => $"{a.Host}:{a.Port}"))}); exiting so the launcher starts this worker again (it then joins through the seeds)")));
        Receive<WorkerAccepted>(a =>
        {
            Timers.Cancel(CoordinatorTimer);
            _fence = Math.Max(_fence, a.Fence);
            ClusterRunLog.Accepted(_logger, a.WorkerIndex, a.RunId, a.DataPlane);
            Become(Connecting);
            var self = Self;
            _ = ConnectAsync(a, self);
        });
        Receive<WorkerRefused>(r => End(new WorkerGaveUp($"the coordinator refused this worker: {r.Reason}")));
        Common();
    }

    private void Connecting()
    {
        Receive<DataPlaneReady>(r => StartWorking(r.Accepted, r.Connection));
        Receive<DataPlaneFailed>(f =>
        {
            ClusterRunLog.CoordinatorLost(_logger, f.Why);
            StartRegistering();
        });
        Common();
    }

    private void Working()
    {
        Receive<WorkersReady>(ready => { });
        // Step commands arrive here from the link (the sender): the node keeps the run they carry, and
        // the worker answers the link.
        Receive<ComputeWindow>(w => w.Exchange is null, w => Pass(w, w.Snapshot, w.Parameters));
        Receive<ComputeBatch>(b => b.Exchange is null, b => Pass(b, b.Snapshot, b.Parameters));
        Receive<ComputeWindow>(w => PassExchanged(w.Snapshot, w.Generation, w.Exchange!, w.Parameters.Length > 0, group => w with { Group = group }));
        Receive<ComputeBatch>(b => PassExchanged(b.Snapshot, b.Generation, b.Exchange!, b.Parameters.Length > 0, group => b with { Group = group }));
        // The coordinator reads the run from this replica (validation, checkpoint): after the step computing now.
        Receive<FetchReplica>(f => _worker?.Ask<ReplicaCopy>(f, _allReduce.TransferTimeout * 2).PipeTo(Sender, Self, failure: _ => new ReplicaCopy(-1, [], [], 0)));
        Receive<FetchSnapshot>(f =>
        {
            if (_held is { } held && held.Snapshot.Step == f.Step)
            {
                ClusterRunLog.SendingSnapshot(_logger, f.Step);
                Sender.Tell(held);
            }
        });
        // The worker's own failure report goes to the coordinator with its step traffic; its replica is new,
        // so its group closes at once (its peers abandon the step instead of waiting for it).
        Receive<ShardFailed>(f =>
        {
            CloseGroup();
            _link?.Tell(f);
        });
        Receive<StepLink.Ended>(e =>
        {
            ClusterRunLog.CoordinatorLost(_logger, e.Why);
            if (_trainer is not null && _worker is not null)
            {
                // All-reduce: the replica is the run. Its peers lose the coordinator too; with the group closed
                // a step in flight is abandoned, and the replica's copy becomes what this node holds.
                CloseGroup();
                _worker.Ask<HeldRun>(TakeHeldRun.Instance, _allReduce.TransferTimeout).PipeTo(Self, Self, failure: _ => new HeldRun(null));
                Become(Draining);
                return;
            }

            DropReplica();
            StartRegistering();
        });
        Receive<Terminated>(t => t.ActorRef.Equals(_worker), _ => End(new WorkerGaveUp("this node's replica failed parallel.max-worker-failures times within parallel.failure-window; exiting so its launcher starts a fresh one")));
        Common();
    }

    /// <summary>All-reduce mode, the coordinator lost: until the replica has handed over its copy of the run.</summary>
    private void Draining()
    {
        Receive<HeldRun>(h =>
        {
            // Held only if the replica is at the step the trainer's snapshot describes (a fetch may have moved it on).
            if (h.Copy is { } copy && _trainer is { } trainer && copy.Step == trainer.Step && copy.Parameters.Length > 0
                && trainer.Fence >= (_held?.Snapshot.Fence ?? 0))
            {
                _held = new SnapshotCopy(trainer.WithReplica(copy.OptimizerState, copy.OptimizerSteps, copy.Parameters), copy.Parameters);
            }

            _trainer = null;
            DropReplica();
            StartRegistering();
        });
        Receive<Terminated>(t => t.ActorRef.Equals(_worker), _ =>
        {
            _trainer = null;
            DropReplica();
            StartRegistering();
        });
        Common();
    }

    private void Common() => Receive<RunFinished>(f => End(new RunEnded(f.Reason)));

    private void StartRegistering()
    {
        if (_registrar is not null)
        {
            Context.Stop(_registrar);
        }

        var registration = _options.Registration.Clone();
        registration.FenceSeen = _fence;
        registration.HeldStep = _held?.Snapshot.Step ?? -1;
        registration.HeldFence = _held?.Snapshot.Fence ?? 0;
        registration.HeldChecksum = _held?.Snapshot.Checksum ?? 0;
        var retry = _options.RegisterRetry;
        var seeds = _options.Seeds;
        _registrar = Context.ActorOf(Props.Create(() => new WorkerRegistrar(registration, retry, seeds)), $"registrar-{++_replicas}");
        Timers.StartSingleTimer(CoordinatorTimer, NoCoordinator.Instance, _options.CoordinatorTimeout);
        Become(Registering);
    }

    private async Task ConnectAsync(WorkerAccepted accepted, IActorRef self)
    {
        try
        {
            var connection = await _options.DataPlane.ConnectAsync(DataPlaneEndPoint.Parse(accepted.DataPlane)).ConfigureAwait(false);
            self.Tell(new DataPlaneReady(accepted, connection));
        }
        catch (Exception e) when (e is TensorConnectionException or FormatException or InvalidOperationException)
        {
            self.Tell(new DataPlaneFailed(e.Message));
        }
    }

    private void StartWorking(WorkerAccepted accepted, TensorConnection connection)
    {
        var settings = ConfigLoader.LoadText(accepted.SettingsHocon, "the coordinator's settings", []);
        var kind = accepted.Task.Length == 0 ? Data.Tasks.TaskKind.LanguageModel
            : Data.Tasks.TaskKindNames.TryParse(accepted.Task, out var parsed) ? parsed
            : throw new InvalidOperationException($"the coordinator asked for a replica of an unknown task '{accepted.Task}'");
        // The model (and its seed) is the run's; the device is this node's own.
        var model = Training.Tasks.TaskSetup.Model(settings with { Runtime = settings.Runtime with { Device = _options.Runtime.Device } }, kind, accepted.VocabularySize, accepted.OutputCount);
        WorkerOptions[] workers = [new WorkerOptions(accepted.WorkerIndex, model, null, _options.Time) { Optimizer = Training.TrainingSetup.Optimizer(settings.Training), ClipNorm = settings.Training.ClipNorm, OverlapBackward = settings.Cluster.OverlapBackward }];
        // The run's all-reduce settings (every member must use the same), not this node's.
        // Scoped by the coordinator's fence: a coordinator taking over numbers its generations from 1 again,
        // and the data plane must not mistake them for stale generations of the one before.
        _runId = $"{accepted.RunId[..Math.Min(accepted.RunId.Length, 100)]}/{accepted.Fence}";
        _allReduce = new AllReduceOptions
        {
            BucketFloats = (int)(settings.Cluster.AllReduceBucketSize / sizeof(float)),
            Compression = settings.Cluster.GradientCompression == GradientCompressionSetting.BFloat16 ? GradientCompression.BFloat16 : GradientCompression.None,
            TransferTimeout = settings.Cluster.TransferTimeout,
        };
        var parallel = settings.Parallel;
        _supervisor = Context.ActorOf(Props.Create(() => new WorkerSupervisor(workers, parallel.MaxWorkerFailures, parallel.FailureWindow)), $"workers-{_replicas}");
        Become(AwaitingWorker(accepted, connection));
    }

    private Action AwaitingWorker(WorkerAccepted accepted, TensorConnection connection) => () =>
    {
        Receive<WorkersReady>(ready =>
        {
            var worker = _worker = ready.Workers.Single().Ref;
            Context.Watch(worker);
            var loggers = _options.LoggerFactory;
            var incarnation = (ulong)accepted.Incarnation;
            var delay = _options.TestSendDelay;
            var node = Self;
            _link = Context.ActorOf(Props.Create(() => new StepLink(connection, node, accepted.RunId, incarnation, loggers, delay)), $"link-{_replicas}");
            Become(Working);
        });
        Common();
    };

    /// <summary>Keeps the newest run a command carries (never an older coordinator's) and hands the command to the worker.</summary>
    private void Pass(object command, RunSnapshot? snapshot, float[] parameters)
    {
        if (snapshot is not null && snapshot.Fence >= (_held?.Snapshot.Fence ?? 0))
        {
            // The parameters are the command's own array: nobody writes it (the replica only reads them).
            _held = new SnapshotCopy(snapshot, parameters);
        }

        _worker?.Forward(command);
    }

    /// <summary>
    /// All-reduce mode: keeps the trainer's part of the run, joins (forms) the command's generation's group,
    /// and hands the command, with its group, to the worker.
    /// </summary>
    private void PassExchanged(RunSnapshot? snapshot, int generation, ExchangeCommand exchange, bool seeded, Func<IGradientExchange, object> withGroup)
    {
        if (snapshot is not null && snapshot.Fence >= (_trainer?.Fence ?? 0))
        {
            _trainer = snapshot;
        }

        if (_group is null || _group.Generation != generation || !_group.Members.SequenceEqual(exchange.Members, StringComparer.Ordinal))
        {
            CloseGroup();
            _peers ??= new PeerConnections(_options.DataPlane, _options.LoggerFactory);
            _group = GroupExchange.Form(_options.DataPlane, _peers, _runId, generation, exchange, _allReduce, _options.LoggerFactory, _options.Time);
            var source = seeded ? "the coordinator seeds the run"
                : exchange.SyncSource < 0 ? "every member holds the run"
                : exchange.SyncSource == exchange.Rank ? "this replica sends the run to the members without it"
                : $"receiving the run from rank {exchange.SyncSource}";
            ClusterRunLog.JoinedGroup(_logger, generation, exchange.Rank, exchange.Members.Count, source);
        }

        _worker?.Forward(withGroup(_group));
    }

    /// <summary>Closes the current group (its peers' calls end at once); a later command forms the next one.</summary>
    private void CloseGroup()
    {
        if (_group is { } group)
        {
            _group = null;
            _ = group.DisposeAsync().AsTask();
        }
    }

    private void DropReplica()
    {
        CloseGroup();
        if (_worker is not null)
        {
            Context.Unwatch(_worker);
            _worker = null;
        }

        if (_supervisor is not null)
        {
            Context.Stop(_supervisor);
            _supervisor = null;
        }

        if (_link is not null)
        {
            Context.Stop(_link);
            _link = null;
        }
    }

    private void End(WorkerNodeOutcome outcome)
    {
        DropReplica();
        if (_peers is { } peers)
        {
            _peers = null;
            _ = peers.DisposeAsync().AsTask();
        }

        _options.Outcome.TrySetResult(outcome);
        // Over: the data plane closing as the process exits is no reason to register again.
        Timers.CancelAll();
        Become(() => ReceiveAny(_ => { }));
    }

    private sealed record DataPlaneReady(WorkerAccepted Accepted, TensorConnection Connection);

    private sealed record DataPlaneFailed(string Why);

    private sealed record NoCoordinator
    {
        public static NoCoordinator Instance { get; } = new();
    }
}
