using Microsoft.Extensions.Logging;
using RnnCluster.Actors;
using RnnCluster.Cluster;
using RnnCluster.Config;
using RnnCluster.Remote.Protocol;
using RnnCluster.Torch;
using RnnCluster.Training.Parallel;

namespace RnnCluster.Training.Cluster;

/// <summary>
/// On a worker node (<c>/user/node</c>): builds the replica the coordinator asks for with
/// <see cref="CreateReplica"/> — from the run's settings, with this node's own device — under a
/// <see cref="ReplicaSupervisor"/>, and reports back: <see cref="ReplicaReady"/> (sent by the worker
/// actor itself, so the coordinator addresses it directly), <see cref="ReplicaFailed"/> after a
/// supervised restart, <see cref="ReplicaStopped"/> when the supervisor gave up on it.
/// </summary>
public sealed class WorkerNodeAgent : ReceiveActor
{
    private readonly RuntimeSettings _runtime;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private IActorRef? _pool;
    private IActorRef? _supervisor;
    private int _replicas;
    private int _index = -1;

    public WorkerNodeAgent(RuntimeSettings runtime, TimeProvider time, ILoggerFactory loggerFactory)
    {
        _runtime = runtime;
        _time = time;
        _logger = loggerFactory.CreateLogger<WorkerNodeAgent>();
        Receive<CreateReplica>(OnCreate);
        Receive<WorkersReady>(OnReady);
        Receive<ActorFailed>(OnFailed);
        Receive<Terminated>(OnTerminated);
        Receive<LeaderRestarted>(_ => DropReplica());
    }

    protected internal override void PreStart()
    {
        Context.System.EventStream.Subscribe<ActorFailed>(Self);
        Context.System.EventStream.Subscribe<LeaderRestarted>(Self);
    }

    protected internal override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    private void OnCreate(CreateReplica create)
    {
        DropReplica();
        _pool = Sender;
        var settings = ConfigLoader.LoadText(create.SettingsHocon, "the coordinator's settings", []);
        // The model (and its seed) is the run's; the device is this node's own.
        var kind = create.Task.Length == 0 ? Data.Tasks.TaskKind.LanguageModel
            : Data.Tasks.TaskKindNames.TryParse(create.Task, out var parsed) ? parsed
            : throw new InvalidOperationException($"the coordinator asked for a replica of an unknown task '{create.Task}'");
        var model = Tasks.TaskSetup.Model(settings with { Runtime = settings.Runtime with { Device = _runtime.Device } }, kind, create.VocabularySize, create.OutputCount);
        _index = create.WorkerIndex;
        var limit = new RestartLimit(settings.Parallel.MaxWorkerFailures - 1, settings.Parallel.FailureWindow);
        WorkerOptions[] workers = [new WorkerOptions(create.WorkerIndex, model, null, _time)];
        _supervisor = Context.ActorOf(Props.Create(() => new ReplicaSupervisor(workers, limit)), $"workers-{++_replicas}");
    }

    private void OnReady(WorkersReady ready)
    {
        if (!ReferenceEquals(Sender, _supervisor) || _pool is null)
        {
            return;
        }

        foreach (var (index, worker) in ready.Workers)
        {
            Context.Watch(worker);
            ClusterTrainingLog.ReplicaBuilt(_logger, index, _pool.Path.ToString());
            _pool.Tell(new ReplicaReady { WorkerIndex = index, Device = _runtime.Device, Threads = TorchRuntime.Threads }, worker);
        }
    }

    private void OnFailed(ActorFailed failed)
    {
        if (_supervisor is null || !ReferenceEquals(failed.Supervisor, _supervisor))
        {
            return;
        }

        ClusterTrainingLog.ReplicaFailed(_logger, _index, failed.Cause.Message);
        if (failed.Directive is Directive.Restart or Directive.Resume)
        {
            _pool?.Tell(new ReplicaFailed { WorkerIndex = _index, Reason = failed.Cause.Message }, Self);
        }
    }

    private void OnTerminated(Terminated terminated)
    {
        if (_supervisor is not null && terminated.ActorRef.Path.Parent?.Equals(_supervisor.Path) == true)
        {
            _pool?.Tell(new ReplicaStopped { WorkerIndex = _index, Reason = "stopped after repeated failures (parallel.max-worker-failures)" }, Self);
        }
    }

    private void DropReplica()
    {
        if (_supervisor is not null)
        {
            Context.Stop(_supervisor);
            _supervisor = null;
        }
    }
}
