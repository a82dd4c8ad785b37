using Microsoft.Extensions.Logging;
using RnnCluster.Actors;
using RnnCluster.Config;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Training.Parallel;

namespace RnnCluster.Training.Cluster;

/// <summary>Everything a cluster coordinator needs; shared by every incarnation across restarts.</summary>
public sealed class ClusterCoordinatorOptions
{
    /// <summary>Builds the training loop, resuming from the given checkpoint (null = a fresh run).</summary>
    public required Func<string?, ITrainingLoop> CreateLoop { get; init; }

    public required string RunDirectory { get; init; }

    /// <summary>The first incarnation's loop, built before the actors start so bad input fails with its own message.</summary>
    public ITrainingLoop? InitialLoop { get; set; }

    public required ParallelSettings Parallel { get; init; }

    public required ILoggerFactory LoggerFactory { get; init; }

    public required TimeProvider Time { get; init; }

    /// <summary>Where the step time went, summed over the run (all incarnations).</summary>
    internal StepTimeSplit Timings { get; } = new();

    public CancellationToken Cancellation { get; init; }

    /// <summary>The actor that delivers remote workers as they join (<see cref="RemoteWorkerPool"/>).</summary>
    public required IActorRef WorkerPool { get; init; }

    /// <summary>Workers that must be ready before the first step.</summary>
    public int MinWorkers { get; init; } = 1;

    /// <summary>Who asked for the run; kept here so a restarted coordinator still answers it.</summary>
    internal IActorRef? ReplyTo { get; set; }
}

/// <summary>
/// The coordinator of a multi-process run on our own actor runtime and membership (the in-process
/// coordinator is <c>RnnCluster.Parallel.CoordinatorActor</c> on Akka.NET; this one goes when the
/// cluster moves to Akka.Cluster). The step bookkeeping is the shared <see cref="StepProtocol"/>:
/// workers join at step boundaries, a failed remote replica's shard is retried, a lost worker starts a
/// new generation and the survivors recompute the open step; with no worker left the run waits for
/// workers to (re)join.
/// </summary>
public sealed class ClusterCoordinator : ReceiveActor
{
    private const string DeadlineTimer = "step-deadline";

    private readonly ClusterCoordinatorOptions _options;
    private readonly ILogger _logger;
    private readonly Dictionary<int, IActorRef> _workers = [];
    private ITrainingLoop? _loop;
    private StepProtocol? _protocol;
    private float[] _parameters = [];
    private bool _started;
    private bool _loopStarted;
    private long _dispatched;

    public ClusterCoordinator(ClusterCoordinatorOptions options)
    {
        _options = options;
        _logger = options.LoggerFactory.CreateLogger<ClusterCoordinator>();
        Receive<StartTraining>(Start);
        Receive<WorkersReady>(OnWorkersReady);
        ReceiveAsync<BeginStep>(_ => BeginStepAsync());
        ReceiveAsync<WindowGradients>(OnGradientsAsync);
        Receive<Terminated>(OnWorkerTerminated);
        Receive<RemoteWorkerFailed>(f => RetryShard(f.WorkerIndex));
        Receive<WorkerLost>(l => LoseWorker(l.WorkerIndex));
        ReceiveAsync<StepDeadlinePassed>(OnDeadlineAsync);
    }

    private ITrainingLoop Loop => _loop ?? throw new InvalidOperationException("the coordinator has no training loop");

    private StepProtocol Protocol => _protocol ?? throw new InvalidOperationException("the coordinator has no step protocol");

    protected internal override void PreStart()
    {
        if (_options.InitialLoop is { } first)
        {
            _options.InitialLoop = null;
            _loop = first;
        }
        else
        {
            var resume = CheckpointStore.FindLatest(_options.RunDirectory);
            _loop = _options.CreateLoop(resume);
            if (resume is not null)
            {
                ParallelLog.CoordinatorResumed(_logger, resume);
            }
        }

        _protocol = new StepProtocol(_loop.StreamCount);
        _parameters = _loop.Master.ParameterArray ?? new float[_loop.Master.ParameterCount];
        // A restarted coordinator picks the run up again by itself.
        _started = _options.ReplyTo is not null;
        _options.WorkerPool.Tell(new AttachCoordinator(Self), Self);
    }

    protected internal override void PreRestart(Exception reason, object? message)
    {
        ParallelLog.CoordinatorRestarting(_logger, reason, _loop?.Step ?? 0);
        base.PreRestart(reason, message);
    }

    protected internal override void PostStop()
    {
        _loop?.Dispose();
        _loop = null;
    }

    private void Start(StartTraining start)
    {
        _options.ReplyTo = start.ReplyTo;
        _started = true;
        if (_loopStarted)
        {
            Self.Tell(BeginStep.Instance, Self);
        }
    }

    private void OnWorkersReady(WorkersReady ready)
    {
        foreach (var (index, worker) in ready.Workers)
        {
            // Joiners wait for the step boundary: the open step's plan stays as dispatched.
            _workers[index] = worker;
            Context.Watch(worker);
            Protocol.Join(index);
        }

        if (!_loopStarted)
        {
            var ready_ = Protocol.Workers.Count + Protocol.Joining.Count;
            if (ready_ < _options.MinWorkers)
            {
                ParallelLog.WaitingForWorkers(_logger, ready_, _options.MinWorkers);
                return;
            }

            TakeJoiners();
            Loop.Start();
            _loopStarted = true;
            if (_started)
            {
                Self.Tell(BeginStep.Instance, Self);
            }
        }
        else if (Protocol.OpenStep is null || Protocol.Plan.Count == 0)
        {
            TakeJoiners();
            if (Protocol.OpenStep is not null)
            {
                // Every worker had gone; the newcomers compute the open step.
                Send(Protocol.Redispatch());
            }
        }
    }

    private void TakeJoiners()
    {
        if (Protocol.TakeJoiners())
        {
            ParallelLog.NewGeneration(_logger, Protocol.Generation, Protocol.Workers.Count, string.Join(" ", Protocol.Plan.Select(s => $"w{s.WorkerIndex}:[{s.FirstStream},{s.FirstStream + s.StreamCount})")));
        }
    }

    private async Task BeginStepAsync()
    {
        if (Protocol.OpenStep is not null)
        {
            return;
        }

        TakeJoiners();
        if (Protocol.Plan.Count == 0)
        {
            ParallelLog.WaitingForWorkers(_logger, 0, 1);
            return;
        }

        var step = await Loop.NextStepAsync(_options.Cancellation).ConfigureAwait(false);
        if (step is null)
        {
            var summary = await Loop.FinishAsync(_options.Timings).ConfigureAwait(false);
            // Not stopping here: Terminated is a system message and could overtake this reply at the
            // listener. The driver terminates the actor system once it has the outcome.
            _options.ReplyTo?.Tell(new TrainingFinished(summary), Self);
            return;
        }

        var started = _options.Time.GetTimestamp();
        if (!ReferenceEquals(_parameters, Loop.Master.ParameterArray))
        {
            Loop.Master.ParameterSpan.CopyTo(_parameters);
        }

        Send(Protocol.Open(step, _parameters));
        _dispatched = _options.Time.GetTimestamp();
        _options.Timings.BroadcastSeconds += _options.Time.GetElapsedTime(started, _dispatched).TotalSeconds;
    }

    private void Send(IReadOnlyList<(int Worker, object Command)> commands)
    {
        foreach (var (worker, command) in commands)
        {
            _workers[worker].Tell(command, Self);
        }

        if (_options.Parallel.StepDeadline > TimeSpan.Zero && Protocol.OpenStep is { } open)
        {
            Context.Timers.StartSingleTimer(DeadlineTimer, new StepDeadlinePassed(open.Step, Protocol.Generation, 0), _options.Parallel.StepDeadline);
        }
    }

    private async Task OnGradientsAsync(WindowGradients g)
    {
        switch (Protocol.Accept(g))
        {
            case ReplyVerdict.Stale:
                ParallelLog.StaleGradients(_logger, g.WorkerIndex, g.Step, g.Generation, g.Attempt, Protocol.OpenStep?.Step ?? -1, Protocol.Generation);
                break;
            case ReplyVerdict.Duplicate:
                ParallelLog.DuplicateGradients(_logger, g.WorkerIndex, g.Step, g.Attempt);
                break;
            case ReplyVerdict.StepComplete:
                await CompleteAsync().ConfigureAwait(false);
                break;
        }
    }

    private async Task CompleteAsync()
    {
        var time = _options.Time;
        var reduceStarted = time.GetTimestamp();
        Context.Timers.Cancel(DeadlineTimer);
        var closed = Protocol.Close(Loop.Master.GradientSpan);
        var reduced = time.GetTimestamp();
        var timings = _options.Timings;
        var replies = closed.Replies;
        var slowest = replies.Select(g => g.ComputeSeconds + g.CopySeconds).DefaultIfEmpty(0).Max();
        timings.ComputeSeconds += replies.Select(g => g.ComputeSeconds).DefaultIfEmpty(0).Max();
        timings.TransferSeconds += Math.Max(0, time.GetElapsedTime(_dispatched, reduceStarted).TotalSeconds - slowest) + replies.Select(g => g.CopySeconds).DefaultIfEmpty(0).Max();
        timings.AveragingSeconds += time.GetElapsedTime(reduceStarted, reduced).TotalSeconds;
        await Loop.CompleteStepAsync(closed.Step, closed.LossSum, closed.Tokens, _options.Cancellation).ConfigureAwait(false);
        timings.ApplySeconds += time.GetElapsedTime(reduced).TotalSeconds;
        timings.Steps++;
        Self.Tell(BeginStep.Instance, Self);
    }

    /// <summary>The worker's node restarted it with a fresh replica; the protocol retries its shard.</summary>
    private void RetryShard(int index)
    {
        if (Protocol.Retry(index) is { } command)
        {
            _workers[index].Tell(command, Self);
        }
    }

    private void OnWorkerTerminated(Terminated terminated)
    {
        if (_workers.Where(w => w.Value.Equals(terminated.ActorRef)).Select(w => (int?)w.Key).FirstOrDefault() is { } index)
        {
            LoseWorker(index);
        }
    }

    /// <summary>A worker is gone for good: its streams move to the others in a new generation.</summary>
    private void LoseWorker(int index)
    {
        if (!_workers.Remove(index, out var worker))
        {
            return;
        }

        Context.Unwatch(worker);
        if (!Protocol.Remove(index))
        {
            return;
        }

        ParallelLog.WorkerStopped(_logger, index, Protocol.Workers.Count);
        if (Protocol.Workers.Count == 0)
        {
            // A cluster waits for workers to (re)join; the open step is recomputed by them.
            ParallelLog.WaitingForWorkers(_logger, 0, 1);
            return;
        }

        ParallelLog.NewGeneration(_logger, Protocol.Generation, Protocol.Workers.Count, string.Join(" ", Protocol.Plan.Select(s => $"w{s.WorkerIndex}:[{s.FirstStream},{s.FirstStream + s.StreamCount})")));
        if (Protocol.OpenStep is not null)
        {
            Send(Protocol.Redispatch());
        }
    }

    private async Task OnDeadlineAsync(StepDeadlinePassed deadline)
    {
        if (Protocol.OpenStep is not { } open || deadline.Step != open.Step || deadline.Generation != Protocol.Generation)
        {
            return;
        }

        var missing = Protocol.Missing;
        var policy = _options.Parallel.StragglerPolicy;
        ParallelLog.Straggler(_logger, open.Step, _options.Parallel.StepDeadline, string.Join(", ", missing), SettingNames.StragglerPolicies.ToName(policy));
        if (policy == StragglerPolicy.Drop && Protocol.ReceivedCount > 0)
        {
            await CompleteAsync().ConfigureAwait(false);
            return;
        }

        // Commands are idempotent: sending the missing shards again makes a lost message cost a deadline, not the run.
        Send([.. missing.Select(w => (w, Protocol.Retry(w))).Where(c => c.Item2 is not null).Select(c => (c.w, c.Item2!))]);
    }
}
