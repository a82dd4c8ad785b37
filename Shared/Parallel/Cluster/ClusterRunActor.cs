using Akka.Actor;
using Akka.Cluster;
using Microsoft.Extensions.Logging;
using RnnCluster.DataPlane.Tensors;
using RnnCluster.Parallel.Cluster.Wire;

namespace RnnCluster.Parallel.Cluster;

/// <summary>What the coordinator singleton needs from its node.</summary>
public sealed class ClusterRunOptions
{
    /// <summary>The coordinator's options (its loop factory, settings, logging); <c>LocalWorkers</c> must be false.</summary>
    public required CoordinatorOptions Coordinator { get; init; }

    /// <summary>This node's data plane: workers dial it after registering.</summary>
    public required TensorTransport DataPlane { get; init; }

    public required string RunId { get; init; }

    /// <summary>What a worker needs to build its replica (settings text, task, sizes); index and data plane are filled in per worker.</summary>
    public required WorkerAccepted Replica { get; init; }

    /// <summary>Test-only (<c>cluster.test-faults</c>): every step message to a worker is held this long.</summary>
    public TimeSpan TestSendDelay { get; init; }

    /// <summary>Completed with the run's outcome (<see cref="TrainingFinished"/> or <see cref="TrainingAborted"/>).</summary>
    public required TaskCompletionSource<object> Outcome { get; init; }
}

/// <summary>
/// The coordinator singleton: takes worker registrations (a fresh index per worker incarnation), admits
/// the data-plane connection of a registered worker as a <see cref="StepLink"/>, and hands those links to
/// its <see cref="CoordinatorActor"/> child as workers. A link ends when its connection does, and an
/// unreachable worker node ends its link at once: the coordinator re-plans without waiting for Akka to
/// remove the node. Restarts a failing coordinator (it resumes from the newest committed checkpoint)
/// up to 3 times a minute. When the run ends it tells every worker, which exits.
/// </summary>
public sealed class ClusterRunActor : ReceiveActor
{
    private readonly ClusterRunOptions _options;
    private readonly ILogger _logger;
    // Keyed by node and incarnation: two processes may start in the same millisecond.
    private readonly Dictionary<(string Node, long Incarnation), Registration> _registrations = [];
    private readonly Dictionary<IActorRef, int> _links = [];
    private readonly CancellationTokenSource _stop = new();
    private IActorRef _coordinator = ActorRefs.Nobody;
    private int _nextIndex;
    private bool _finished;

    public ClusterRunActor(ClusterRunOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = options.Coordinator.LoggerFactory.CreateLogger<ClusterRunActor>();
        Receive<RegisterWorker>(OnRegister);
        Receive<Connected>(OnConnected);
        Receive<StepLink.Ended>(_ => { });
        Receive<AttachWorkers>(_ => { if (_links.Count > 0) { _coordinator.Tell(new WorkersReady([.. _links.Select(l => (l.Value, l.Key))])); } });
        Receive<ClusterEvent.UnreachableMember>(OnUnreachable);
        Receive<ClusterEvent.MemberRemoved>(m => ClusterRunLog.Removed(_logger, m.Member.Address.ToString(), m.PreviousStatus == MemberStatus.Down ? "it was downed" : "it left"));
        Receive<ClusterEvent.IMemberEvent>(_ => { });
        Receive<TrainingFinished>(f => Finish(f));
        Receive<TrainingAborted>(a => Finish(a));
        Receive<Terminated>(t => t.ActorRef.Equals(_coordinator), _ => Finish(new TrainingAborted($"the coordinator stopped without finishing the run (it failed more than {RunSupervisor.MaxCoordinatorRestarts} times within a minute); see the log above")));
        Receive<Terminated>(t => _links.Remove(t.ActorRef));
    }

    protected override void PreStart()
    {
        _coordinator = Context.ActorOf(Props.Create(() => new CoordinatorActor(_options.Coordinator)).WithDispatcher(ParallelSystem.CoordinatorDispatcher), "run-coordinator");
        Context.Watch(_coordinator);
        Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.UnreachableMember), typeof(ClusterEvent.MemberRemoved));
        var self = Self;
        _ = Task.Run(() => AcceptAsync(self));
    }

    protected override void PostStop()
    {
        Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);
        _stop.Cancel();
        _stop.Dispose();
    }

    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(RunSupervisor.MaxCoordinatorRestarts, TimeSpan.FromMinutes(1), _ => Directive.Restart);

    private void OnRegister(RegisterWorker register)
    {
        if (_finished)
        {
            Sender.Tell(new WorkerRefused { Reason = "the run has finished", Incarnation = register.Incarnation });
            return;
        }

        if (!_registrations.TryGetValue((register.Node, register.Incarnation), out var registration))
        {
            registration = new Registration(_nextIndex++, register.Node, Sender);
            _registrations[(register.Node, register.Incarnation)] = registration;
            ClusterRunLog.Registered(_logger, registration.Index, register.Node, register.Incarnation, register.Device, register.Threads);
        }

        // A repeated registration (the answer was lost) gets the same answer: registering is idempotent.
        var accepted = _options.Replica.Clone();
        accepted.RunId = _options.RunId;
        accepted.WorkerIndex = registration.Index;
        accepted.Incarnation = register.Incarnation;
        accepted.DataPlane = _options.DataPlane.LocalEndPoint.ToString();
        Sender.Tell(accepted);
    }

    private void OnConnected(Connected connected)
    {
        var connection = connected.Connection;
        var peer = connection.Peer;
        if (_finished || !_registrations.TryGetValue((peer.Address, (long)peer.Incarnation), out var registration))
        {
            ClusterRunLog.ConnectionRefused(_logger, peer.ToString(), _finished ? "the run has finished" : "no registration of that node and incarnation");
            _ = connection.DisposeAsync().AsTask();
            return;
        }

        ClusterRunLog.Connected(_logger, registration.Index, peer.ToString());
        var loggers = _options.Coordinator.LoggerFactory;
        var coordinator = _coordinator;
        var delay = _options.TestSendDelay;
        var link = Context.ActorOf(Props.Create(() => new StepLink(connection, coordinator, _options.RunId, peer.Incarnation, loggers, delay)), $"link-{registration.Index}-{peer.Incarnation}");
        Context.Watch(link);
        _links[link] = registration.Index;
        _coordinator.Tell(new WorkersReady([(registration.Index, link)]));
    }

    private void OnUnreachable(ClusterEvent.UnreachableMember unreachable)
    {
        var address = unreachable.Member.Address.ToString();
        foreach (var registration in _registrations.Values)
        {
            if (registration.Node != address)
            {
                continue;
            }

            foreach (var (link, index) in _links.Where(l => l.Value == registration.Index).ToArray())
            {
                ClusterRunLog.Unreachable(_logger, address, index);
                Context.Stop(link);
            }
        }
    }

    private void Finish(object outcome)
    {
        if (_finished)
        {
            return;
        }

        _finished = true;
        // An interrupted run (SIGTERM) is not over: its workers wait for the coordinator to come back.
        if (outcome is not TrainingFinished { Summary.StoppedBy: "interrupted" })
        {
            var reason = outcome is TrainingAborted a ? a.Reason : "training finished";
            foreach (var registration in _registrations.Values)
            {
                registration.Worker.Tell(new RunFinished { RunId = _options.RunId, Reason = reason });
            }
        }

        _options.Outcome.TrySetResult(outcome);
    }

    private async Task AcceptAsync(IActorRef self)
    {
        try
        {
            while (true)
            {
                var connection = await _options.DataPlane.AcceptAsync(_stop.Token).ConfigureAwait(false);
                self.Tell(new Connected(connection));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException or ObjectDisposedException)
        {
            // The singleton stopped, or the node's data plane did.
        }
    }

    private sealed record Connected(TensorConnection Connection);

    private sealed record Registration(int Index, string Node, IActorRef Worker);
}
