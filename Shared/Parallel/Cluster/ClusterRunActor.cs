using Akka.Actor;
using Akka.Cluster;
using Microsoft.Extensions.Logging;
using RnnCluster.DataPlane.Tensors;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Parallel.Cluster.Wire;
using RnnCluster.Training;
using RnnCluster.Training.Parallel;

namespace RnnCluster.Parallel.Cluster;

/// <summary>What the coordinator singleton needs from its node.</summary>
public sealed class ClusterRunOptions
{
    /// <summary>The coordinator's options (its loop factory, settings, logging); <c>LocalWorkers</c> must be false.</summary>
    public required CoordinatorOptions Coordinator { get; init; }

    /// <summary>This node's data plane: workers dial it after registering.</summary>
    public required TensorTransport DataPlane { get; init; }

    public required string RunId { get; init; }

    /// <summary>The run's resolved settings, which every worker builds its replica from.</summary>
    public required string SettingsHocon { get; init; }

    /// <summary>The checkpoint the first coordinator on this node resumes from (the CLI's --resume); later ones take the newest.</summary>
    public string? ResumeFrom { get; set; }

    /// <summary>
    /// The newest committed checkpoint when <see cref="ResumeFrom"/> was chosen (null: none). When the run has
    /// committed another since (this node stood by while another coordinator trained), the choice is stale.
    /// </summary>
    public string? NewestWhenResumeChosen { get; init; }

    /// <summary>How long a new coordinator waits for the cluster's workers to register before it picks where to resume from.</summary>
    public TimeSpan GatherTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a worker has to send the run it holds before the coordinator resumes from the checkpoint instead.</summary>
    public TimeSpan RebuildTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Test-only (<c>cluster.test-faults</c>): every step message to a worker is held this long.</summary>
    public TimeSpan TestSendDelay { get; init; }

    /// <summary>Stops the coordinator at the next step boundary, as SIGTERM does (it cancels the coordinator's token): a hand-over.</summary>
    public required Action RequestStop { get; init; }

    /// <summary>Called when the run's actor starts on this node: from then on it, not the node, ends the process.</summary>
    public Action? RunStartedHere { get; init; }

    /// <summary>Completed with the run's outcome (<see cref="TrainingFinished"/> or <see cref="TrainingAborted"/>).</summary>
    public required TaskCompletionSource<object> Outcome { get; init; }
}

/// <summary>
/// The coordinator singleton. It opens the run (waiting while a predecessor still holds the run
/// directory) and takes the run directory's next fence, then gathers the workers' registrations (a fresh
/// index per worker incarnation; each says which run snapshot the worker holds) and admits their
/// data-plane connections as <see cref="StepLink"/>s. When every worker member has registered, or
/// <c>GatherTimeout</c> passed, it picks where to resume: from the workers when they hold the run at a
/// step newer than the newest checkpoint and all that hold that step agree on its checksum (one of them
/// sends it, and it is verified), else from the checkpoint. Then its <see cref="CoordinatorActor"/> child
/// trains with the links as workers. A link ends when its connection does, and an unreachable worker
/// node ends its link at once: the coordinator re-plans without waiting for Akka to remove the node.
/// Restarts a failing coordinator (it resumes from the newest committed checkpoint) up to 3 times a
/// minute. When the run ends it tells every worker (they exit) and every other coordinator-eligible node.
/// </summary>
public sealed class ClusterRunActor : ReceiveActor, IWithTimers
{
    /// <summary>The actor on every coordinator-eligible node that learns the run has ended elsewhere.</summary>
    public const string RunWatchName = "run-watch";

    private const string GatherTimer = "gather";
    private const string RebuildTimer = "rebuild";
    private const string OpenTimer = "open";

    private readonly ClusterRunOptions _options;
    private readonly ILogger _logger;
    // Keyed by node and incarnation: two processes may start in the same millisecond.
    private readonly Dictionary<(string Node, long Incarnation), Registration> _registrations = [];
    private readonly Dictionary<IActorRef, int> _links = [];
    private readonly CancellationTokenSource _stop = new();
    private IActorRef _coordinator = ActorRefs.Nobody;
    private ITrainingLoop? _loop;
    private WorkerAccepted _replica = new();
    private long _fence;
    private int _nextIndex;
    private bool _finished;
    // Finished but not over: interrupted (SIGTERM) or handing over; the next coordinator continues.
    private bool _handingOver;
    private bool _waitingLogged;
    private long _rebuildStarted;
    private Registration? _rebuildingFrom;

    public ClusterRunActor(ClusterRunOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = options.Coordinator.LoggerFactory.CreateLogger<ClusterRunActor>();
        Become(Opening);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        _options.RunStartedHere?.Invoke();
        Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.UnreachableMember), typeof(ClusterEvent.MemberRemoved));
        Self.Tell(OpenRun.Instance);
    }

    protected override void PostStop()
    {
        Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);
        _stop.Cancel();
        _stop.Dispose();
        // A loop the coordinator never took (stopped while gathering) is ours to close: it holds the run directory.
        if (_coordinator.IsNobody())
        {
            _loop?.Dispose();
        }
    }

    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(RunSupervisor.MaxCoordinatorRestarts, TimeSpan.FromMinutes(1), _ => Directive.Restart);

    /// <summary>Opens the run directory (retrying while a predecessor holds it); registrations wait (workers repeat them).</summary>
    private void Opening()
    {
        Receive<OpenRun>(_ => Open());
        Common();
    }

    /// <summary>Registers workers until every worker member has, or the gather timeout passed.</summary>
    private void Gathering()
    {
        Receive<RegisterWorker>(r =>
        {
            OnRegister(r);
            if (ReadyToDecide())
            {
                Decide();
            }
        });
        Receive<GatherTimeout>(_ => Decide());
        Receive<Connected>(OnConnected);
        Common();
    }

    /// <summary>Waiting for the chosen worker's copy of the run.</summary>
    private void Rebuilding()
    {
        Receive<RegisterWorker>(OnRegister);
        Receive<Connected>(OnConnected);
        Receive<SnapshotCopy>(OnSnapshotCopy);
        Receive<RebuildTimeout>(_ => StartCoordinator($"worker {_rebuildingFrom?.Index} did not send the run within {_options.RebuildTimeout.TotalSeconds:0} s"));
        Receive<Terminated>(t => _links.TryGetValue(t.ActorRef, out var index) && index == _rebuildingFrom?.Index, t =>
        {
            _links.Remove(t.ActorRef);
            StartCoordinator($"worker {_rebuildingFrom?.Index}'s data plane ended before it sent the run");
        });
        Common();
    }

    private void Running()
    {
        Receive<RegisterWorker>(OnRegister);
        Receive<Connected>(OnConnected);
        // Replies from the links go to the coordinator, the link still their sender.
        Receive<WindowGradients>(g => _coordinator.Forward(g));
        Receive<ShardFailed>(f => _coordinator.Forward(f));
        Receive<AttachWorkers>(_ => { if (_links.Count > 0) { _coordinator.Tell(new WorkersReady([.. _links.Select(l => (l.Value, l.Key))]) { Addresses = PeerAddresses() }); } });
        Receive<TrainingFinished>(StopIfHandingOver);
        Receive<TrainingAborted>(StopIfHandingOver);
        Receive<Terminated>(t => t.ActorRef.Equals(_coordinator), _ => Finish(new TrainingAborted($"the coordinator stopped without finishing the run (it failed more than {RunSupervisor.MaxCoordinatorRestarts} times within a minute); see the log above")));
        Common();
    }

    private void Common()
    {
        Receive<HandOver>(_ => OnHandOver());
        Receive<StepLink.Ended>(_ => { });
        Receive<Terminated>(t => _links.Remove(t.ActorRef));
        Receive<ClusterEvent.UnreachableMember>(OnUnreachable);
        Receive<ClusterEvent.MemberRemoved>(m =>
        {
            ClusterRunLog.Removed(_logger, m.Member.Address.ToString(), m.PreviousStatus == MemberStatus.Down ? "it was downed" : "it left");
            WorkersOf(m.Member.Address.ToString(), m.PreviousStatus == MemberStatus.Down ? Monitoring.MemberStates.Lost : Monitoring.MemberStates.Left);
        });
        Receive<ClusterEvent.IMemberEvent>(_ => { });
        // A reply or a late snapshot that arrives outside its state belongs to nothing in flight.
        Receive<WindowGradients>(_ => { });
        Receive<ShardFailed>(_ => { });
        Receive<SnapshotCopy>(_ => { });
        Receive<GatherTimeout>(_ => { });
        Receive<RebuildTimeout>(_ => { });
        Receive<OpenRun>(_ => { });
    }

    /// <summary>This node leaves: a running coordinator stops at the step boundary with a checkpoint first.</summary>
    private void OnHandOver()
    {
        _handingOver = true;
        if (_coordinator.IsNobody() || _finished)
        {
            Context.Stop(Self);
            return;
        }

        _options.RequestStop();
    }

    private void Open()
    {
        var coordinator = _options.Coordinator;
        try
        {
            // A standby taking over, or a coordinator restarted in place, resumes from the newest checkpoint that
            // verifies; a damaged newer one is named in the log and passed over.
            var logger = _logger;
            // The checkpoint --resume named (a restarted coordinator's launcher passes the run directory, resolved
            // to its newest checkpoint at start) holds only while the run has not moved on. A standby takes over
            // minutes later: by then the other coordinator has committed newer checkpoints, and retention may
            // have deleted the named one (both seen in the soak). Resuming from it would redo steps already
            // trained and logged, so the newest one that verifies counts instead.
            var pinned = _options.ResumeFrom is { } p && Directory.Exists(p) && !RunMovedOn() ? p : null;
            if (pinned is null && _options.ResumeFrom is { } passed)
            {
                ClusterRunLog.ResumePassedOver(logger, passed);
            }

            var resume = pinned ?? CheckpointReader.FindNewestValid(coordinator.RunDirectory, reason => ParallelLog.CheckpointSkipped(logger, reason));
            _loop = coordinator.CreateLoop(resume);
            _options.ResumeFrom = null;
        }
        catch (CheckpointException e) when (e.RunDirectoryInUse)
        {
            // The previous coordinator (crashed, downed, or handing over) has not let go yet.
            if (!_waitingLogged)
            {
                ClusterRunLog.WaitingForRunDirectory(_logger, e.Message);
                _waitingLogged = true;
            }

            Timers.StartSingleTimer(OpenTimer, OpenRun.Instance, TimeSpan.FromSeconds(1));
            return;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Finish(new TrainingAborted($"could not open the run: {e.Message}"));
            return;
        }

        _fence = _loop.Fence;
        var replica = Training.Tasks.TaskSetup.Replica(_loop.MasterOptions);
        _replica = new WorkerAccepted { SettingsHocon = _options.SettingsHocon, Task = replica.Task, VocabularySize = replica.VocabularySize, OutputCount = replica.OutputCount, Fence = _fence };
        ClusterRunLog.SingletonStarted(_logger, Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString(), _fence);
        // The coordinator's incarnation is its fence: each coordinator of the run takes the next one.
        _options.Coordinator.Monitor?.MemberChanged(0, Monitoring.MemberStates.Coordinator, Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString(), Monitoring.MemberStates.Up, _fence);
        var self = Self;
        _ = Task.Run(() => AcceptAsync(self));
        Become(Gathering);
        if (ReadyToDecide())
        {
            Decide();
            return;
        }

        Timers.StartSingleTimer(GatherTimer, GatherTimeout.Instance, _options.GatherTimeout);
    }

    /// <summary>Whether the run committed a checkpoint after this node's --resume was chosen.</summary>
    private bool RunMovedOn()
    {
        var newest = CheckpointStore.FindLatest(_options.Coordinator.RunDirectory);
        return !string.Equals(
            newest is null ? null : Path.GetFullPath(newest),
            _options.NewestWhenResumeChosen is { } chosen ? Path.GetFullPath(chosen) : null,
            StringComparison.Ordinal);
    }

    /// <summary>
    /// Whether the workers to resume with are known: <c>cluster.min-workers</c> registered (training waits
    /// for them anyway), and every Up worker member of the cluster too. A coordinator restarted by its
    /// launcher forms a new cluster whose members its old workers are not: they reach it at the seed address.
    /// </summary>
    private bool ReadyToDecide()
    {
        if (_registrations.Count < _options.Coordinator.MinWorkers)
        {
            return false;
        }

        var registered = _registrations.Keys.Select(k => k.Node).ToHashSet(StringComparer.Ordinal);
        return Akka.Cluster.Cluster.Get(Context.System).State.Members
            .Where(m => m.Status == MemberStatus.Up && m.HasRole(ClusterSystem.WorkerRole))
            .All(m => registered.Contains(m.Address.ToString()));
    }

    /// <summary>From the workers when they hold a newer run than the checkpoint and agree on it; else from the checkpoint.</summary>
    private void Decide()
    {
        Timers.Cancel(GatherTimer);
        if (_finished)
        {
            // Stepped down (stale) or stopped while gathering: there is nothing to resume.
            return;
        }

        var loop = _loop!;
        var newest = _registrations.Values.Where(r => r.HeldStep > loop.Step && r.HeldFence < _fence).ToArray();
        if (!_options.Coordinator.SnapshotsToWorkers || newest.Length == 0)
        {
            StartCoordinator(null);
            return;
        }

        var step = newest.Max(r => r.HeldStep);
        var holders = newest.Where(r => r.HeldStep == step).ToArray();
        if (holders.Select(r => r.HeldChecksum).Distinct().Count() > 1)
        {
            StartCoordinator($"the workers holding step {step} disagree on its checksum ({string.Join(", ", holders.Select(r => $"worker {r.Index}: {r.HeldChecksum:x16}"))})");
            return;
        }

        _rebuildingFrom = holders.FirstOrDefault(h => _links.ContainsValue(h.Index)) ?? holders[0];
        _rebuildStarted = _options.Coordinator.Time.GetTimestamp();
        ClusterRunLog.Rebuilding(_logger, _rebuildingFrom.Index, step, _rebuildingFrom.HeldFence, loop.Step);
        Timers.StartSingleTimer(RebuildTimer, RebuildTimeout.Instance, _options.RebuildTimeout);
        Become(Rebuilding);
        FetchFrom(_rebuildingFrom);
    }

    private void FetchFrom(Registration holder)
    {
        foreach (var link in _links.Where(l => l.Value == holder.Index).Select(l => l.Key))
        {
            link.Tell(new FetchSnapshot(holder.HeldStep));
        }
    }

    private void OnSnapshotCopy(SnapshotCopy copy)
    {
        var holder = _rebuildingFrom!;
        if (copy.Snapshot.Step != holder.HeldStep || copy.Snapshot.Checksum != holder.HeldChecksum)
        {
            return;
        }

        if (!copy.Snapshot.Matches(copy.Parameters))
        {
            StartCoordinator($"worker {holder.Index}'s copy of step {holder.HeldStep} does not match its checksum");
            return;
        }

        try
        {
            _loop!.Adopt(copy.Snapshot, copy.Parameters, $"the run held by worker {holder.Index} ({holder.Node})");
        }
        catch (CheckpointException e)
        {
            // The loop may be half-adopted: build it again from the checkpoint.
            _loop!.Dispose();
            _loop = null;
            StartCoordinator(e.Message);
            return;
        }

        ClusterRunLog.Rebuilt(_logger, copy.Snapshot.Step, _options.Coordinator.Time.GetElapsedTime(_rebuildStarted).TotalSeconds);
        StartCoordinator(null);
    }

    /// <param name="notRebuilt">Why the run does not continue from the workers' copy (null: it does, or there was none).</param>
    private void StartCoordinator(string? notRebuilt)
    {
        Timers.Cancel(RebuildTimer);
        if (_finished)
        {
            return;
        }

        if (notRebuilt is not null)
        {
            ClusterRunLog.NotRebuilt(_logger, notRebuilt, _loop?.Step ?? CheckpointStep());
        }

        var options = _options.Coordinator;
        // A loop dropped after a failed adoption is opened again by the coordinator itself (newest checkpoint).
        options.InitialLoop = _loop;
        _coordinator = Context.ActorOf(Props.Create(() => new CoordinatorActor(options)).WithDispatcher(ParallelSystem.CoordinatorDispatcher), "run-coordinator");
        Context.Watch(_coordinator);
        Become(Running);
    }

    /// <summary>Every registered worker's peer address (all-reduce members dial each other there).</summary>
    private Dictionary<int, string> PeerAddresses() => _registrations.Values.Where(r => r.PeerAddress.Length > 0).ToDictionary(r => r.Index, r => r.PeerAddress);

    private long CheckpointStep() =>
        CheckpointStore.FindLatest(_options.Coordinator.RunDirectory) is { } latest && CheckpointLayout.TryParseStep(Path.GetFileName(latest), out var step) ? step : 0;

    private void OnRegister(RegisterWorker register)
    {
        if (_finished || _handingOver)
        {
            // A run handed over is not over: no answer, and the worker keeps registering until the next
            // coordinator answers.
            if (!_handingOver)
            {
                Sender.Tell(new WorkerRefused { Reason = "the run has finished", Incarnation = register.Incarnation });
            }

            return;
        }

        if (register.FenceSeen > _fence)
        {
            // A worker already served a newer coordinator: this one lost its role and must not train.
            ClusterRunLog.Stale(_logger, register.Node, register.FenceSeen, _fence);
            StepDown($"a newer coordinator (fence {register.FenceSeen}) has taken this run over; this one (fence {_fence}) stops");
            return;
        }

        if (!_registrations.TryGetValue((register.Node, register.Incarnation), out var registration))
        {
            registration = new Registration(_nextIndex++, register.Node, Sender, register.HeldStep, register.HeldFence, register.HeldChecksum, register.DataPlane);
            _registrations[(register.Node, register.Incarnation)] = registration;
            ClusterRunLog.Registered(_logger, registration.Index, register.Node, register.Incarnation, register.Device, register.Threads);
            _options.Coordinator.Monitor?.MemberChanged(registration.Index, Monitoring.MemberStates.Worker, register.Node, Monitoring.MemberStates.Joining, register.Incarnation);
        }

        // A repeated registration (the answer was lost) gets the same answer: registering is idempotent.
        var accepted = _replica.Clone();
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
        var self = Self;
        var delay = _options.TestSendDelay;
        var link = Context.ActorOf(Props.Create(() => new StepLink(connection, self, _options.RunId, peer.Incarnation, loggers, delay)), $"link-{registration.Index}-{peer.Incarnation}");
        Context.Watch(link);
        _links[link] = registration.Index;
        registration.PeerAddress = $"{peer}@{registration.DataPlane}";
        if (!_coordinator.IsNobody())
        {
            _coordinator.Tell(new WorkersReady([(registration.Index, link)]) { Addresses = PeerAddresses() });
        }
        else if (ReferenceEquals(registration, _rebuildingFrom))
        {
            link.Tell(new FetchSnapshot(registration.HeldStep));
        }
    }

    /// <summary>Tells the monitor the new state of the workers registered from <paramref name="node"/> (a gone one stays gone).</summary>
    private void WorkersOf(string node, string state)
    {
        if (_options.Coordinator.Monitor is not { } monitor)
        {
            return;
        }

        foreach (var registration in _registrations.Values.Where(r => r.Node == node))
        {
            var gone = monitor.FindMember(registration.Index, Monitoring.MemberStates.Worker)?.State is Monitoring.MemberStates.Lost or Monitoring.MemberStates.Left;
            if (!gone || state != Monitoring.MemberStates.Unreachable)
            {
                monitor.MemberChanged(registration.Index, Monitoring.MemberStates.Worker, state: state);
            }
        }
    }

    private void OnUnreachable(ClusterEvent.UnreachableMember unreachable)
    {
        var address = unreachable.Member.Address.ToString();
        WorkersOf(address, Monitoring.MemberStates.Unreachable);
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
        // An interrupted run (SIGTERM) is not over: its workers wait for the coordinator to come back
        // (another coordinator-eligible node takes over when this one leaves).
        _handingOver |= outcome is TrainingFinished { Summary.StoppedBy: "interrupted" };
        if (_handingOver)
        {
            // The checkpoint is written: closing the links now makes the workers register again at once,
            // so they are waiting for the next coordinator instead of noticing it after this node has left.
            foreach (var link in _links.Keys)
            {
                Context.Stop(link);
            }
        }
        else
        {
            var reason = outcome is TrainingAborted a ? a.Reason : "training finished";
            var finished = new RunFinished { RunId = _options.RunId, Reason = reason, Aborted = outcome is TrainingAborted };
            foreach (var registration in _registrations.Values)
            {
                registration.Worker.Tell(finished);
            }

            var cluster = Akka.Cluster.Cluster.Get(Context.System);
            foreach (var member in cluster.State.Members.Where(m => m.HasRole(ClusterSystem.CoordinatorRole) && !m.Address.Equals(cluster.SelfAddress)))
            {
                Context.ActorSelection(new RootActorPath(member.Address) / "user" / RunWatchName).Tell(finished);
            }
        }

        _options.Outcome.TrySetResult(outcome);
    }

    /// <summary>
    /// A stale coordinator stops without a word to anyone: the workers and the other nodes belong to the
    /// newer one, so no RunFinished goes out (it would end their run).
    /// </summary>
    private void StepDown(string reason)
    {
        _finished = true;
        _handingOver = true;
        foreach (var link in _links.Keys)
        {
            Context.Stop(link);
        }

        if (!_coordinator.IsNobody())
        {
            Context.Stop(_coordinator);
        }

        _options.Outcome.TrySetResult(new TrainingAborted(reason));
    }

    /// <summary>The manager asked for the hand-over and the coordinator has checkpointed: the singleton may move.</summary>
    private void StopIfHandingOver(object outcome)
    {
        Finish(outcome);
        if (_handingOver && Sender.Equals(_coordinator))
        {
            Context.Stop(Self);
        }
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

    private sealed record Registration(int Index, string Node, IActorRef Worker, long HeldStep, long HeldFence, ulong HeldChecksum, string DataPlane)
    {
        /// <summary>Where the worker's all-reduce peers reach it: <c>address#incarnation@host:port</c> (set once its link is up).</summary>
        public string PeerAddress { get; set; } = "";
    }

    private sealed class OpenRun
    {
        public static OpenRun Instance { get; } = new();
    }

    private sealed class GatherTimeout
    {
        public static GatherTimeout Instance { get; } = new();
    }

    private sealed class RebuildTimeout
    {
        public static RebuildTimeout Instance { get; } = new();
    }
}
