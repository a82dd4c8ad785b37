using Akka.Actor;
using Microsoft.Extensions.Logging;
using RnnCluster.Config;
using RnnCluster.DataPlane;
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
        Receive<ComputeWindow>(w => Pass(w, w.Snapshot, w.Parameters));
        Receive<ComputeBatch>(b => Pass(b, b.Snapshot, b.Parameters));
        Receive<FetchSnapshot>(f =>
        {
            if (_held is { } held && held.Snapshot.Step == f.Step)
            {
                ClusterRunLog.SendingSnapshot(_logger, f.Step);
                Sender.Tell(held);
            }
        });
        // The worker's own failure report goes to the coordinator with its step traffic.
        Receive<ShardFailed>(f => _link?.Tell(f));
        Receive<StepLink.Ended>(e =>
        {
            ClusterRunLog.CoordinatorLost(_logger, e.Why);
            DropReplica();
            StartRegistering();
        });
        Receive<Terminated>(t => t.ActorRef.Equals(_worker), _ => End(new WorkerGaveUp("this node's replica failed parallel.max-worker-failures times within parallel.failure-window; exiting so its launcher starts a fresh one")));
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
        WorkerOptions[] workers = [new WorkerOptions(accepted.WorkerIndex, model, null, _options.Time)];
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

    private void DropReplica()
    {
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
