namespace RnnCluster.Training.Parallel;

/// <summary>What the step protocol made of a worker's reply.</summary>
public enum ReplyVerdict
{
    /// <summary>Counted; the step still waits for other workers.</summary>
    Accepted,

    /// <summary>Counted, and it was the last one the open step waited for: close it.</summary>
    StepComplete,

    /// <summary>Of another step or an older generation, or from a worker that owes nothing: never applied.</summary>
    Stale,

    /// <summary>A second reply to the same shard (the answer to a retry): the first one counted.</summary>
    Duplicate,

    /// <summary>The worker's all-reduce failed (a peer is gone or stalled): the generation must be formed again.</summary>
    Abandoned,
}

/// <summary>
/// The coordinator's bookkeeping of a data-parallel run, free of actors so every coordinator shares it
/// and tests drive it directly. A <b>generation</b> is one plan: the workers in it, each with a
/// contiguous range of streams. Workers that join wait for the next step boundary; a worker that is
/// lost starts a new generation at once, and the open step is dispatched again to the survivors from
/// the states it started from (contributions of the old generation are discarded, so a lost worker
/// costs one recomputed step, not a rollback). Commands carry (step, generation, attempt) and are
/// idempotent: every attempt of a shard computes the same contribution, so the first reply of the
/// open step and current generation counts and any later one is a duplicate.
/// </summary>
public sealed class StepProtocol
{
    private readonly int _streamCount;
    private readonly SortedSet<int> _workers = [];
    private readonly SortedSet<int> _joining = [];
    private readonly Dictionary<int, int> _attempts = [];
    private readonly Dictionary<int, int> _owed = []; // worker → attempt of the latest command it owes
    private readonly SortedDictionary<int, WindowGradients> _received = [];
    private Dictionary<int, Shard> _rows = []; // task batches: worker → its rows of the open batch
    private float[] _parameters = [];
    private RunSnapshot? _snapshot;
    // Workers of the open step whose replica refused a non-finite gradient once: their retries report it.
    private readonly HashSet<int> _reportNonFinite = [];
    // All-reduce mode: who holds the run's parameters (seeded or synced, and in a step that closed since),
    // each worker's data-plane address, and the source of the current generation's sync.
    private readonly bool _allReduce;
    private readonly SortedSet<int> _holding = [];
    private readonly Dictionary<int, string> _addresses = [];
    private int _syncSource = -1;
    // Streams per second each worker computed lately (a moving average), for plans that follow speed.
    private readonly Dictionary<int, double> _speeds = [];

    /// <param name="streamCount">Streams of the global batch (language models) or the most rows a batch has (tasks).</param>
    /// <param name="allReduce">The workers sum gradients among themselves and hold the parameters (commands carry none).</param>
    /// <param name="firstGeneration">What <see cref="Generation"/> counts up from (the first plan is this + 1).</param>
    public StepProtocol(int streamCount, bool allReduce = false, int firstGeneration = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(streamCount);
        ArgumentOutOfRangeException.ThrowIfNegative(firstGeneration);
        _streamCount = streamCount;
        _allReduce = allReduce;
        Generation = firstGeneration;
    }

    /// <summary>
    /// Plan streams by each worker's measured speed (language models), not equally, once every worker of
    /// a new generation has been measured and the fastest is at least <see cref="BalanceThreshold"/> times
    /// the slowest: a GPU worker beside CPU workers gets more streams. Re-planned only at generation changes.
    /// </summary>
    public bool BalanceStreams { get; init; }

    /// <summary>How much faster the fastest worker must be before streams are planned by speed (noise stays equal).</summary>
    public double BalanceThreshold { get; init; } = 1.5;

    /// <summary>All-reduce mode: the step the replicas apply before the next one (set when the coordinator completes a step).</summary>
    public StepCommit? Commit { get; set; }

    /// <summary>
    /// All-reduce mode: the run every worker of the plan is seeded with when none of them holds it (the
    /// start, a resume, a rebuild); the coordinator sets it from its master when <see cref="NeedsSeed"/>.
    /// </summary>
    public ReplicaCopy? Seed { get; set; }

    /// <summary>
    /// Every command of the steps opened from now on asks the workers to report a non-finite gradient
    /// rather than fail: the coordinator sets it once a step was skipped, so later NaNs from the data
    /// restart no replica (the run's first one costs one restart and one retry per worker that met it).
    /// </summary>
    public bool ReportNonFinite { get; set; }

    /// <summary>
    /// All-reduce mode: the replicas' copies of the run are void (the coordinator rolled back to a
    /// checkpoint): a new generation, which the master seeds (<see cref="NeedsSeed"/>).
    /// </summary>
    public void ForgetHolders()
    {
        _holding.Clear();
        Seed = null;
        if (_workers.Count > 0)
        {
            NewGeneration();
        }
    }

    /// <summary>All-reduce mode: no worker of the plan holds the run, so the next dispatch needs a <see cref="Seed"/>.</summary>
    public bool NeedsSeed => _allReduce && !Plan.Any(s => _holding.Contains(s.WorkerIndex));

    /// <summary>All-reduce mode: a worker that holds the run now (for a fetch), or null.</summary>
    public int? Holder => _holding.Count == 0 ? null : _holding.Min;

    /// <summary>All-reduce mode: every worker that holds the run now (they must hold the same bytes).</summary>
    public IReadOnlyCollection<int> Holders => _holding;

    /// <summary>All-reduce mode: where the worker's peers reach it (<c>address#incarnation@host:port</c>).</summary>
    public void SetAddress(int worker, string address) => _addresses[worker] = address;

    /// <summary>
    /// All-reduce mode: the worker's replica was replaced (it failed and restarted) or the step was abandoned:
    /// a new generation of the same workers, the replaced one synced again from a peer; redispatch the open step.
    /// </summary>
    public void Regenerate(int? replaced = null)
    {
        if (replaced is { } worker)
        {
            _holding.Remove(worker);
        }

        _received.Clear();
        _owed.Clear();
        if (_workers.Count > 0)
        {
            NewGeneration();
        }
    }

    /// <summary>
    /// The plan's number, counted up from its initial value: a coordinator restarted in place starts above
    /// its previous incarnation's numbers, so workers' data planes never take its groups for stale ones.
    /// </summary>
    public int Generation { get; private set; }

    /// <summary>The current generation's shards, in worker order (the reduction order).</summary>
    public IReadOnlyList<Shard> Plan { get; private set; } = [];

    /// <summary>The step dispatched and not yet closed, if any.</summary>
    public ITrainingStep? OpenStep { get; private set; }

    public IReadOnlyCollection<int> Workers => _workers;

    /// <summary>Workers waiting for the next step boundary to join the plan.</summary>
    public IReadOnlyCollection<int> Joining => _joining;

    public int ReceivedCount => _received.Count;

    /// <summary>Workers of the open step whose reply has not come.</summary>
    public IReadOnlyList<int> Missing => [.. Plan.Select(s => s.WorkerIndex).Where(w => _owed.ContainsKey(w) && !_received.ContainsKey(w))];

    /// <summary>A worker is ready; it joins the plan at the next step boundary (<see cref="TakeJoiners"/>).</summary>
    public void Join(int worker)
    {
        if (!_workers.Contains(worker))
        {
            _joining.Add(worker);
        }
    }

    /// <summary>Takes the workers that joined since the last plan into a new generation; false when none waited.</summary>
    public bool TakeJoiners()
    {
        if (_joining.Count == 0)
        {
            return false;
        }

        _workers.UnionWith(_joining);
        _joining.Clear();
        NewGeneration();
        return true;
    }

    /// <summary>
    /// A worker is gone for good. True when it was in the plan: there is a new generation without it
    /// (or none at all when it was the last), and an open step must be dispatched again (<see cref="Redispatch"/>).
    /// </summary>
    public bool Remove(int worker)
    {
        _holding.Remove(worker);
        _speeds.Remove(worker);
        if (_joining.Remove(worker) || !_workers.Remove(worker))
        {
            return false;
        }

        _received.Clear();
        _owed.Clear();
        if (_workers.Count == 0)
        {
            Plan = [];
            return true;
        }

        NewGeneration();
        return true;
    }

    /// <summary>Opens <paramref name="step"/> and returns the command of every shard (workers with no rows of a small task batch sit it out).</summary>
    public IReadOnlyList<(int Worker, object Command)> Open(ITrainingStep step, float[] parameters, RunSnapshot? snapshot = null)
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(parameters);
        if (OpenStep is not null)
        {
            throw new InvalidOperationException($"step {OpenStep.Step} is still open");
        }

        if (Plan.Count == 0)
        {
            throw new InvalidOperationException("no worker is in the plan");
        }

        OpenStep = step;
        _parameters = parameters;
        _snapshot = snapshot;
        _reportNonFinite.Clear();
        return Redispatch();
    }

    /// <summary>Every shard of the open step again, for the current plan (after a generation change); old replies no longer count.</summary>
    public IReadOnlyList<(int Worker, object Command)> Redispatch()
    {
        var step = OpenStep ?? throw new InvalidOperationException("no step is open");
        _received.Clear();
        _owed.Clear();
        if (step is Tasks.TaskStep task)
        {
            // A batch may have fewer rows than the plan has workers; those workers sit this step out.
            _rows = ShardPlan.Plan(task.Batch.Count, [.. Plan.Select(s => s.WorkerIndex)]).ToDictionary(s => s.WorkerIndex);
        }

        var commands = new List<(int, object)>(Plan.Count);
        foreach (var shard in Plan)
        {
            if (Command(shard.WorkerIndex) is { } command)
            {
                commands.Add((shard.WorkerIndex, command));
            }
        }

        return commands;
    }

    /// <summary>
    /// The worker's command again, as a new attempt; null when it owes the open step nothing (or already
    /// answered). <paramref name="reportNonFinite"/>: its replica refused a non-finite gradient; this and
    /// later attempts of the step report one instead (a NaN that a fresh replica computes again is the data's).
    /// </summary>
    public object? Retry(int worker, bool reportNonFinite = false)
    {
        if (OpenStep is null || !_owed.ContainsKey(worker) || _received.ContainsKey(worker))
        {
            return null;
        }

        if (reportNonFinite)
        {
            _reportNonFinite.Add(worker);
        }

        return Command(worker);
    }

    /// <summary>Counts a reply if it belongs to the open step and the current generation, once per worker.</summary>
    public ReplyVerdict Accept(WindowGradients reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        if (OpenStep is null || reply.Step != OpenStep.Step || reply.Generation != Generation || !_owed.TryGetValue(reply.WorkerIndex, out var latest) || reply.Attempt > latest)
        {
            return ReplyVerdict.Stale;
        }

        if (reply.Abandoned)
        {
            return ReplyVerdict.Abandoned;
        }

        if (!_received.TryAdd(reply.WorkerIndex, reply))
        {
            return ReplyVerdict.Duplicate;
        }

        if (OpenStep is TrainingWindow && reply.ComputeSeconds > 0 && Plan.FirstOrDefault(p => p.WorkerIndex == reply.WorkerIndex) is { } shard)
        {
            var speed = shard.StreamCount / reply.ComputeSeconds;
            _speeds[reply.WorkerIndex] = _speeds.TryGetValue(reply.WorkerIndex, out var before) ? (0.7 * before) + (0.3 * speed) : speed;
        }

        return _received.Count == _owed.Count ? ReplyVerdict.StepComplete : ReplyVerdict.Accepted;
    }

    /// <summary>
    /// Closes the open step with the replies that came (all of them, or fewer when the straggler policy
    /// drops a worker): sums their gradients into <paramref name="gradient"/> in plan order, so the result
    /// never depends on arrival order, and hands each window's streams their final states (a dropped
    /// worker's streams keep the states they had and skip this window).
    /// </summary>
    public ClosedStep Close(Span<float> gradient)
    {
        var step = OpenStep ?? throw new InvalidOperationException("no step is open");
        var window = step as TrainingWindow;
        var contributions = new List<float[]>(Plan.Count);
        double loss = 0;
        long tokens = 0;
        foreach (var shard in Plan)
        {
            if (_received.TryGetValue(shard.WorkerIndex, out var g))
            {
                contributions.Add(g.Gradients);
                loss += g.LossSum;
                tokens += g.Tokens;
                if (window is not null)
                {
                    g.FinalState.CopyTo(window.NextStateSlice(shard.FirstStream, shard.StreamCount));
                }
            }
            else if (window is not null)
            {
                window.StateSlice(shard.FirstStream, shard.StreamCount).CopyTo(window.NextStateSlice(shard.FirstStream, shard.StreamCount));
            }
        }

        if (_allReduce)
        {
            // Every member of the plan reduced this step and holds it pending; seeded or synced ones now hold the run.
            _holding.UnionWith(Plan.Select(p => p.WorkerIndex).Where(_received.ContainsKey));
            Seed = null;
        }
        else
        {
            GradientReducer.Sum(gradient, contributions);
        }

        var replies = _received.Values.ToArray();
        OpenStep = null;
        _received.Clear();
        _owed.Clear();
        return new ClosedStep(step, loss, tokens, replies, replies.Length == 0 ? double.NaN : replies[0].Norm);
    }

    private object? Command(int worker)
    {
        var step = OpenStep!;
        if (step is Tasks.TaskStep task)
        {
            if (!_rows.TryGetValue(worker, out var rows))
            {
                return null;
            }

            var batchAttempt = NextAttempt(worker);
            var shardRows = Tasks.TaskShard.From(task.Batch.Slice(rows.FirstStream, rows.StreamCount));
            return new ComputeBatch(task.Step, Generation, batchAttempt, rows.FirstStream, shardRows, Parameters(worker), _snapshot, Exchange(worker)) { ReportNonFinite = Reports(worker) };
        }

        var w = (TrainingWindow)step;
        var shard = Plan.First(s => s.WorkerIndex == worker);
        var n = w.Length * shard.StreamCount;
        var inputs = new long[n];
        var targets = new long[n];
        w.CopySlice(shard.FirstStream, shard.StreamCount, inputs, targets);
        var attempt = NextAttempt(worker);
        return new ComputeWindow(w.Step, Generation, attempt, shard.FirstStream, shard.StreamCount, w.Length, inputs, targets, w.StateSlice(shard.FirstStream, shard.StreamCount).ToArray(), Parameters(worker), _snapshot, Exchange(worker)) { ReportNonFinite = Reports(worker) };
    }

    private bool Reports(int worker) => ReportNonFinite || _reportNonFinite.Contains(worker);

    /// <summary>The parameters a worker's command carries: the run's, or in all-reduce mode none unless the worker is seeded.</summary>
    private float[] Parameters(int worker) => !_allReduce ? _parameters : SeedFor(worker) is { } seed ? seed.Parameters : [];

    private ReplicaCopy? SeedFor(int worker) => _syncSource < 0 && !_holding.Contains(worker) ? Seed ?? throw new InvalidOperationException("no worker holds the run and no seed was given") : null;

    private ExchangeCommand? Exchange(int worker)
    {
        if (!_allReduce)
        {
            return null;
        }

        var members = Plan.Select(p => _addresses.TryGetValue(p.WorkerIndex, out var a) ? a : throw new InvalidOperationException($"worker {p.WorkerIndex} has no data-plane address")).ToArray();
        var rank = Plan.Select(p => p.WorkerIndex).ToList().IndexOf(worker);
        var seed = SeedFor(worker);
        return new ExchangeCommand(rank, members, Commit, _syncSource, seed?.OptimizerState ?? [], seed?.OptimizerSteps ?? 0);
    }

    private int NextAttempt(int worker)
    {
        var attempt = _attempts[worker] = _attempts.GetValueOrDefault(worker) + 1;
        _owed[worker] = attempt;
        return attempt;
    }

    private void NewGeneration()
    {
        Generation++;
        var workers = _workers.ToArray();
        var speeds = workers.Select(w => _speeds.GetValueOrDefault(w)).ToArray();
        Plan = BalanceStreams && speeds.All(v => v > 0) && speeds.Max() >= BalanceThreshold * speeds.Min()
            ? ShardPlan.Weighted(_streamCount, workers, speeds)
            : ShardPlan.Plan(_streamCount, workers);
        // A member that holds the run sends it to those that do not (a joiner, a restarted replica) before
        // the generation's first step; with none holding it the coordinator seeds them all.
        var plan = Plan.Select(p => p.WorkerIndex).ToList();
        var holder = plan.FindIndex(_holding.Contains);
        _syncSource = holder >= 0 && plan.Any(w => !_holding.Contains(w)) ? holder : -1;
    }
}

/// <summary>A step the protocol closed: the summed loss and tokens of the replies that counted (and in all-reduce mode the reduced gradient's norm the replicas computed).</summary>
public sealed record ClosedStep(ITrainingStep Step, double LossSum, long Tokens, IReadOnlyList<WindowGradients> Replies, double Norm = double.NaN);
