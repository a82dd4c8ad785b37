using Microsoft.Extensions.Logging;
using RnnCluster.Actors;
using RnnCluster.Config;
using RnnCluster.Model.Checkpoints;

namespace RnnCluster.Training.Parallel;

/// <summary>Everything a coordinator needs; shared by every incarnation across restarts.</summary>
public sealed class CoordinatorOptions
{
    /// <summary>Builds the training loop, resuming from the given checkpoint (null = a fresh run).</summary>
    public required Func<string?, ITrainingLoop> CreateLoop { get; init; }

    public required string RunDirectory { get; init; }

    /// <summary>
    /// The first incarnation's loop, built by the caller before the actors start so that bad input
    /// (settings, data, a refused checkpoint) fails with its own message instead of inside an actor.
    /// Later incarnations build theirs from the newest committed checkpoint.
    /// </summary>
    public ITrainingLoop? InitialLoop { get; set; }

    public required ParallelSettings Parallel { get; init; }

    public required ILoggerFactory LoggerFactory { get; init; }

    public required TimeProvider Time { get; init; }

    /// <summary>Where the step time went, summed over the run (all incarnations).</summary>
    internal StepTimeSplit Timings { get; } = new();

    public WorkerFaults? WorkerFaults { get; init; }

    /// <summary>Test-only: makes the coordinator throw when it is about to plan this step (once).</summary>
    public long? FailBeforeStep { get; set; }

    public CancellationToken Cancellation { get; init; }

    /// <summary>
    /// Cluster mode: the actor that delivers remote workers as they join (<see cref="Cluster.RemoteWorkerPool"/>).
    /// Null = the coordinator creates <see cref="ParallelSettings.Workers"/> local worker actors itself.
    /// </summary>
    public IActorRef? WorkerPool { get; init; }

    /// <summary>Workers that must be ready before the first step (cluster mode; locally all are ready at once).</summary>
    public int MinWorkers { get; init; } = 1;

    /// <summary>Who asked for the run; kept here so a restarted coordinator still answers it.</summary>
    internal IActorRef? ReplyTo { get; set; }

    internal int Incarnation { get; set; }
}

/// <summary>
/// Owns the run: the master parameters and optimizer (through the <see cref="TrainingLoop"/>), the data
/// cursor, the streams' states and the shard plan. Each step it sends every live worker its range of
/// streams, sums their gradient contributions in worker order (so the result never depends on
/// arrival order), and applies the step. A failed worker's shard is retried after its supervisor
/// restarts it; a stopped worker starts a new generation whose plan spreads its streams over the
/// others, and the open step is recomputed from the states it started from — a lost worker costs
/// one recomputed step, not a rollback. If the coordinator itself fails, its supervisor restarts it
/// and it resumes from the newest committed checkpoint.
/// </summary>
public sealed class CoordinatorActor : ReceiveActor
{
    private const string DeadlineTimer = "step-deadline";

    private readonly CoordinatorOptions _options;
    private readonly ILogger _logger;
    private readonly SortedDictionary<int, IActorRef> _workers = [];
    private readonly Dictionary<int, int> _attempts = [];
    private readonly SortedDictionary<int, WindowGradients> _received = [];
    private readonly Dictionary<int, int> _inFlight = []; // worker → attempt of the open window it owes
    private ITrainingLoop? _loop;
    private IActorRef? _supervisor;
    private IReadOnlyList<Shard> _plan = [];
    private int _generation;
    private ITrainingStep? _window;
    private Dictionary<int, Shard> _rows = []; // task batches: worker → its rows of the open batch
    private float[] _parameters = [];
    private readonly SortedDictionary<int, IActorRef> _pending = [];
    private bool _started;
    private bool _loopStarted;
    private long _dispatched;

    public CoordinatorActor(CoordinatorOptions options)
    {
        _options = options;
        _logger = options.LoggerFactory.CreateLogger<CoordinatorActor>();
        Receive<StartTraining>(Start);
        Receive<WorkersReady>(OnWorkersReady);
        ReceiveAsync<BeginStep>(_ => BeginStepAsync());
        ReceiveAsync<WindowGradients>(OnGradientsAsync);
        Receive<ActorFailed>(OnWorkerFailed);
        Receive<Terminated>(OnWorkerTerminated);
        Receive<Cluster.RemoteWorkerFailed>(f => RetryShard(f.WorkerIndex));
        Receive<Cluster.WorkerLost>(l => LoseWorker(l.WorkerIndex));
        ReceiveAsync<StepDeadlinePassed>(OnDeadlineAsync);
    }

    private ITrainingLoop Loop => _loop ?? throw new InvalidOperationException("the coordinator has no training loop");

    protected internal override void PreStart()
    {
        _options.Incarnation++;
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

        // The master's own parameter array where it has one: in-process workers read it in place (the
        // master changes it only once every reply of the step is in), remote ones get it serialised.
        _parameters = _loop.Master.ParameterArray ?? new float[_loop.Master.ParameterCount];
        Context.System.EventStream.Subscribe<ActorFailed>(Self);
        if (_options.ReplyTo is not null)
        {
            // A restarted coordinator picks the run up again by itself.
            _started = true;
        }

        if (_options.WorkerPool is { } pool)
        {
            pool.Tell(new Cluster.AttachCoordinator(Self), Self);
            return;
        }

        var workerModel = _loop.MasterOptions;
        var workers = Enumerable.Range(0, _options.Parallel.Workers)
            .Select(i => new WorkerOptions(i, workerModel, _options.WorkerFaults, _options.Time))
            .ToArray();
        var limit = new RestartLimit(_options.Parallel.MaxWorkerFailures - 1, _options.Parallel.FailureWindow);
        // A name per incarnation: after a restart the previous supervisor may still be stopping.
        _supervisor = Context.ActorOf(Props.Create(() => new WorkerSupervisor(workers, limit)), $"workers-{_options.Incarnation}");
    }

    protected internal override void PreRestart(Exception reason, object? message)
    {
        ParallelLog.CoordinatorRestarting(_logger, reason, _loop?.Step ?? 0);
        base.PreRestart(reason, message);
    }

    protected internal override void PostStop()
    {
        Context.System.EventStream.Unsubscribe(Self);
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
            _pending[index] = worker;
            Context.Watch(worker);
        }

        if (!_loopStarted)
        {
            if (_workers.Count + _pending.Count < _options.MinWorkers)
            {
                ParallelLog.WaitingForWorkers(_logger, _workers.Count + _pending.Count, _options.MinWorkers);
                return;
            }

            ApplyPending();
            Loop.Start();
            _loopStarted = true;
            if (_started)
            {
                Self.Tell(BeginStep.Instance, Self);
            }
        }
        else if (_window is null || _plan.Count == 0)
        {
            ApplyPending();
            if (_window is not null)
            {
                // Every worker had gone; the newcomers compute the open step.
                DispatchAll();
            }
        }
    }

    /// <summary>Takes the workers that joined since the last plan into a new generation.</summary>
    private void ApplyPending()
    {
        if (_pending.Count == 0)
        {
            return;
        }

        foreach (var (index, worker) in _pending)
        {
            _workers[index] = worker;
        }

        _pending.Clear();
        NewGeneration();
    }

    private async Task BeginStepAsync()
    {
        if (_window is not null)
        {
            return;
        }

        ApplyPending();
        if (_plan.Count == 0)
        {
            ParallelLog.WaitingForWorkers(_logger, 0, 1);
            return;
        }

        if (_options.FailBeforeStep is { } failAt && Loop.Step + 1 == failAt)
        {
            _options.FailBeforeStep = null;
            throw new InvalidOperationException($"injected coordinator fault before step {failAt}");
        }

        var window = await Loop.NextStepAsync(_options.Cancellation).ConfigureAwait(false);
        if (window is null)
        {
            var summary = await Loop.FinishAsync(_options.Timings).ConfigureAwait(false);
            // Not stopping here: Terminated is a system message and could overtake this reply at the
            // listener. The driver terminates the actor system once it has the outcome.
            _options.ReplyTo?.Tell(new TrainingFinished(summary), Self);
            return;
        }

        _window = window;
        var started = _options.Time.GetTimestamp();
        if (!ReferenceEquals(_parameters, Loop.Master.ParameterArray))
        {
            Loop.Master.ParameterSpan.CopyTo(_parameters);
        }

        DispatchAll();
        _dispatched = _options.Time.GetTimestamp();
        _options.Timings.BroadcastSeconds += _options.Time.GetElapsedTime(started, _dispatched).TotalSeconds;
    }

    /// <summary>Sends every shard of the open window (a new window, or a re-plan of the open one).</summary>
    private void DispatchAll()
    {
        _received.Clear();
        _inFlight.Clear();
        if (_window is Tasks.TaskStep task)
        {
            // A batch may have fewer rows than the plan has workers; those workers sit this step out.
            _rows = ShardPlan.Plan(task.Batch.Count, [.. _plan.Select(s => s.WorkerIndex)]).ToDictionary(s => s.WorkerIndex);
        }

        foreach (var shard in _plan)
        {
            Send(shard);
        }

        if (_options.Parallel.StepDeadline > TimeSpan.Zero)
        {
            Context.Timers.StartSingleTimer(DeadlineTimer, new StepDeadlinePassed(_window!.Step, _generation, 0), _options.Parallel.StepDeadline);
        }
    }

    private void Send(Shard shard)
    {
        if (_window is Tasks.TaskStep task)
        {
            SendRows(task, shard.WorkerIndex);
            return;
        }

        var w = (TrainingWindow)_window!;
        var n = w.Length * shard.StreamCount;
        var inputs = new long[n];
        var targets = new long[n];
        w.CopySlice(shard.FirstStream, shard.StreamCount, inputs, targets);
        var attempt = _attempts[shard.WorkerIndex] = _attempts.GetValueOrDefault(shard.WorkerIndex) + 1;
        var message = new ComputeWindow(w.Step, _generation, attempt, shard.FirstStream, shard.StreamCount, w.Length, inputs, targets, w.StateSlice(shard.FirstStream, shard.StreamCount).ToArray(), _parameters);
        _inFlight[shard.WorkerIndex] = attempt;
        _workers[shard.WorkerIndex].Tell(message, Self);
    }

    private void SendRows(Tasks.TaskStep task, int workerIndex)
    {
        if (!_rows.TryGetValue(workerIndex, out var rows))
        {
            return;
        }

        var attempt = _attempts[workerIndex] = _attempts.GetValueOrDefault(workerIndex) + 1;
        var shard = Tasks.TaskShard.From(task.Batch.Slice(rows.FirstStream, rows.StreamCount));
        _inFlight[workerIndex] = attempt;
        _workers[workerIndex].Tell(new ComputeBatch(task.Step, _generation, attempt, rows.FirstStream, shard, _parameters), Self);
    }

    private async Task OnGradientsAsync(WindowGradients g)
    {
        var w = _window;
        if (w is null || g.Step != w.Step || g.Generation != _generation || !_inFlight.TryGetValue(g.WorkerIndex, out var attempt) || attempt != g.Attempt || _received.ContainsKey(g.WorkerIndex))
        {
            // Late (a dropped straggler), of an old generation, or a duplicate: never applied.
            ParallelLog.StaleGradients(_logger, g.WorkerIndex, g.Step, g.Generation, g.Attempt, w?.Step ?? -1, _generation);
            return;
        }

        _received[g.WorkerIndex] = g;
        if (_received.Count == _inFlight.Count)
        {
            await CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Reduces the received contributions in plan (stream) order and applies the step.</summary>
    private async Task CompleteAsync()
    {
        var step = _window!;
        var w = step as TrainingWindow;
        var time = _options.Time;
        var reduceStarted = time.GetTimestamp();
        var timings = _options.Timings;
        var slowest = _received.Values.Select(g => g.ComputeSeconds + g.CopySeconds).DefaultIfEmpty(0).Max();
        timings.ComputeSeconds += _received.Values.Select(g => g.ComputeSeconds).DefaultIfEmpty(0).Max();
        timings.TransferSeconds += Math.Max(0, time.GetElapsedTime(_dispatched, reduceStarted).TotalSeconds - slowest) + _received.Values.Select(g => g.CopySeconds).DefaultIfEmpty(0).Max();
        Context.Timers.Cancel(DeadlineTimer);
        var contributions = new List<float[]>(_plan.Count);
        double loss = 0;
        long tokens = 0;
        foreach (var shard in _plan)
        {
            if (_received.TryGetValue(shard.WorkerIndex, out var g))
            {
                contributions.Add(g.Gradients);
                loss += g.LossSum;
                tokens += g.Tokens;
                if (w is not null)
                {
                    g.FinalState.CopyTo(w.NextStateSlice(shard.FirstStream, shard.StreamCount));
                }
            }
            else if (w is not null)
            {
                // Dropped straggler: its streams keep the state they had; they skip this window.
                w.StateSlice(shard.FirstStream, shard.StreamCount).CopyTo(w.NextStateSlice(shard.FirstStream, shard.StreamCount));
            }
        }

        GradientReducer.Sum(Loop.Master.GradientSpan, contributions);
        _window = null;
        _received.Clear();
        _inFlight.Clear();
        var reduced = time.GetTimestamp();
        timings.AveragingSeconds += time.GetElapsedTime(reduceStarted, reduced).TotalSeconds;
        await Loop.CompleteStepAsync(step, loss, tokens, _options.Cancellation).ConfigureAwait(false);
        timings.ApplySeconds += time.GetElapsedTime(reduced).TotalSeconds;
        timings.Steps++;
        Self.Tell(BeginStep.Instance, Self);
    }

    private void OnWorkerFailed(ActorFailed failed)
    {
        if (!ReferenceEquals(failed.Supervisor, _supervisor) || IndexOf(failed.Child) is not { } index)
        {
            return;
        }

        ParallelLog.WorkerFailed(_logger, index, _window?.Step ?? Loop.Step, failed.Directive.ToString(), failed.Cause.Message);
        if (failed.Directive is Directive.Restart or Directive.Resume)
        {
            RetryShard(index);
        }
    }

    /// <summary>
    /// The worker's supervisor restarted it with a fresh replica; the failing message is not
    /// processed again, so the step protocol retries the shard explicitly.
    /// </summary>
    private void RetryShard(int index)
    {
        if (_window is not null && _inFlight.ContainsKey(index) && !_received.ContainsKey(index) && _plan.FirstOrDefault(s => s.WorkerIndex == index) is { } shard)
        {
            Send(shard);
        }
    }

    private void OnWorkerTerminated(Terminated terminated)
    {
        foreach (var (pendingIndex, pending) in _pending)
        {
            if (pending.Equals(terminated.ActorRef))
            {
                _pending.Remove(pendingIndex);
                return;
            }
        }

        if (IndexOf(terminated.ActorRef) is { } index)
        {
            LoseWorker(index);
        }
    }

    /// <summary>A worker is gone for good: its streams move to the others in a new generation.</summary>
    private void LoseWorker(int index)
    {
        if (_pending.Remove(index, out var pending))
        {
            Context.Unwatch(pending);
            return;
        }

        if (!_workers.Remove(index, out var worker))
        {
            return;
        }

        Context.Unwatch(worker);
        ParallelLog.WorkerStopped(_logger, index, _workers.Count);
        if (_workers.Count == 0 && _options.WorkerPool is not null)
        {
            // A cluster waits for workers to (re)join; the open step is recomputed by them.
            _plan = [];
            _received.Clear();
            _inFlight.Clear();
            ParallelLog.WaitingForWorkers(_logger, 0, 1);
            return;
        }

        if (_workers.Count == 0)
        {
            _options.ReplyTo?.Tell(new TrainingAborted(new InvalidOperationException($"every worker was stopped after repeated failures (parallel.max-worker-failures = {_options.Parallel.MaxWorkerFailures}); the last committed checkpoint in {_options.RunDirectory} is intact")), Self);
            return;
        }

        NewGeneration();
        if (_window is not null)
        {
            // Contributions of the old generation are discarded; the survivors recompute the whole
            // open step from the states it started from.
            DispatchAll();
        }
    }

    private async Task OnDeadlineAsync(StepDeadlinePassed deadline)
    {
        if (_window is null || deadline.Step != _window.Step || deadline.Generation != _generation)
        {
            return;
        }

        var missing = string.Join(", ", _plan.Where(s => _inFlight.ContainsKey(s.WorkerIndex) && !_received.ContainsKey(s.WorkerIndex)).Select(s => s.WorkerIndex));
        var policy = _options.Parallel.StragglerPolicy;
        ParallelLog.Straggler(_logger, _window.Step, _options.Parallel.StepDeadline, missing, SettingNames.StragglerPolicies.ToName(policy));
        if (policy == StragglerPolicy.Drop && _received.Count > 0)
        {
            await CompleteAsync().ConfigureAwait(false);
        }
        else
        {
            Context.Timers.StartSingleTimer(DeadlineTimer, deadline, _options.Parallel.StepDeadline);
        }
    }

    private void NewGeneration()
    {
        _generation++;
        _plan = ShardPlan.Plan(Loop.StreamCount, [.. _workers.Keys]);
        ParallelLog.NewGeneration(_logger, _generation, _workers.Count, string.Join(" ", _plan.Select(s => $"w{s.WorkerIndex}:[{s.FirstStream},{s.FirstStream + s.StreamCount})")));
    }

    private int? IndexOf(IActorRef actor)
    {
        foreach (var (index, worker) in _workers)
        {
            if (worker.Equals(actor))
            {
                return index;
            }
        }

        return null;
    }
}
