using System.Globalization;
using RnnCluster.Training;

namespace RnnCluster.Monitoring;

/// <summary>
/// The live model of one run that the dashboard, <c>/metrics</c> and <c>/status</c> read: the trainer reports
/// steps, validations and checkpoints to it as an <see cref="ITrainingObserver"/>; the data-parallel actors
/// report members, generations, failures and the step-time split. Readers take a <see cref="Snapshot"/>, or
/// <see cref="Subscribe"/> to a snapshot and every update after it.
/// <para>
/// Thread-safe. The trainer calls it on the training thread, so each call only copies a few numbers into
/// preallocated columns under a short lock and offers the update to each follower with a non-blocking
/// <c>TryWrite</c>; serialisation happens on the readers' side, outside the lock. With no follower a step
/// allocates nothing.
/// </para>
/// </summary>
public sealed class RunMonitor : ITrainingSampleObserver
{
    /// <summary>Train points kept (older ones are thinned evenly, <see cref="PointHistory"/>).</summary>
    public const int DefaultTrainCapacity = 20_000;

    /// <summary>Validation points kept.</summary>
    public const int ValidCapacity = 5_000;

    /// <summary>Events kept (the oldest go first): generations and failures are rare, checkpoints every few hundred steps.</summary>
    public const int EventCapacity = 2_000;

    /// <summary>Updates a follower may lag behind before it is cut off.</summary>
    public const int SubscriberCapacity = 4_096;

    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly PointHistory _train;
    private readonly PointHistory _valid;
    private readonly Queue<RunEvent> _events = new();
    private readonly List<MonitorSubscription> _followers = [];
    private readonly List<MemberStatus> _members = [];
    private readonly double[] _row = new double[4];
    private RunDescription _run;
    private string _state = RunStates.Waiting;
    private long _step;
    private int _epoch;
    private int _generation;
    private CheckpointMark? _lastCheckpoint;
    private string? _lastError;
    private StepSplit? _split;
    private string? _sample;
    // The latest figures, as plain fields: a step must not allocate.
    private double _loss = double.NaN;
    private double _learningRate = double.NaN;
    private double _gradientNorm = double.NaN;
    private double _tokensPerSecond = double.NaN;
    private double _validLoss = double.NaN;
    private double _validPerplexity = double.NaN;
    private double _validBitsPerToken = double.NaN;

    /// <param name="runDirectory">Where the run writes its checkpoints and metrics.</param>
    /// <param name="mode"><c>single</c>, <c>parallel</c> or <c>cluster</c>.</param>
    /// <param name="task">What is trained: <c>language-model</c>, <c>tagging</c>, <c>acceptor</c>, ...</param>
    public RunMonitor(string runDirectory, string mode, string task, TimeProvider time, int trainCapacity = DefaultTrainCapacity)
    {
        ArgumentNullException.ThrowIfNull(runDirectory);
        ArgumentException.ThrowIfNullOrEmpty(mode);
        ArgumentException.ThrowIfNullOrEmpty(task);
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _train = new PointHistory(trainCapacity, 4);
        _valid = new PointHistory(ValidCapacity, 1);
        _run = new RunDescription(runDirectory, task, mode, 0, 0, 0, null);
    }

    /// <summary>The clock the monitor stamps with.</summary>
    public TimeProvider Time => _time;

    /// <summary>True after the trainer started and before it returned: what <c>/ready</c> answers.</summary>
    public bool IsTraining
    {
        get
        {
            lock (_gate)
            {
                return _state == RunStates.Training;
            }
        }
    }

    /// <summary>Samples of generated text are wanted: somebody may be watching (see <see cref="ITrainingSampleObserver"/>).</summary>
    public bool WantsSamples => true;

    private double Now => _time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;

    public MonitorSnapshot Snapshot()
    {
        lock (_gate)
        {
            return SnapshotLocked();
        }
    }

    /// <summary>The run now, and every update after it (no gap, no repeat): the two are taken under one lock.</summary>
    public (MonitorSnapshot Snapshot, MonitorSubscription Subscription) Subscribe()
    {
        var subscription = new MonitorSubscription(this, SubscriberCapacity);
        lock (_gate)
        {
            _followers.Add(subscription);
            return (SnapshotLocked(), subscription);
        }
    }

    internal void Unsubscribe(MonitorSubscription subscription)
    {
        lock (_gate)
        {
            _followers.Remove(subscription);
        }

        subscription.Complete();
    }

    /// <summary>Followers now (the server's, a test's).</summary>
    public int FollowerCount
    {
        get
        {
            lock (_gate)
            {
                return _followers.Count;
            }
        }
    }

    public void OnStart(TrainingStart start)
    {
        ArgumentNullException.ThrowIfNull(start);
        lock (_gate)
        {
            _run = _run with { Parameters = start.ParameterCount, TotalSteps = start.TotalSteps, StepsPerEpoch = start.StepsPerEpoch, StartedUnix = Now };
            _state = RunStates.Training;
            _step = start.FirstStep;
            PublishStateLocked();
        }
    }

    public void OnStep(StepReport step)
    {
        ArgumentNullException.ThrowIfNull(step);
        var unix = Now;
        lock (_gate)
        {
            _step = step.Step;
            _epoch = step.Epoch + 1;
            _row[0] = step.Loss;
            _row[1] = step.LearningRate;
            _row[2] = step.GradientNorm;
            _row[3] = step.TokensPerSecond;
            _train.Add(step.Step, unix, _row);
            _loss = step.Loss;
            _learningRate = step.LearningRate;
            _gradientNorm = step.GradientNorm;
            _tokensPerSecond = step.TokensPerSecond;
            if (_followers.Count > 0)
            {
                PublishLocked(new StepUpdate(step.Step, _epoch, unix, step.Loss, step.LearningRate, step.GradientNorm, step.TokensPerSecond));
            }
        }
    }

    public void OnEvaluation(EvaluationReport evaluation)
    {
        ArgumentNullException.ThrowIfNull(evaluation);
        if (evaluation.Split != "valid")
        {
            // The test split is evaluated once, after training: summary.json and the report show it.
            return;
        }

        var unix = Now;
        lock (_gate)
        {
            _row[0] = evaluation.Result.Loss;
            _valid.Add(evaluation.Step, unix, _row.AsSpan(0, 1));
            _validLoss = evaluation.Result.Loss;
            _validPerplexity = evaluation.Result.Perplexity;
            _validBitsPerToken = evaluation.Result.BitsPerToken;
            PublishLocked(new ValidUpdate(evaluation.Step, unix, evaluation.Result.Loss));
        }
    }

    public void OnCheckpoint(string directory, long step, bool isBest)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var mark = new CheckpointMark(step, directory, isBest, Now);
        lock (_gate)
        {
            _lastCheckpoint = mark;
            PublishLocked(new CheckpointUpdate(mark));
            AddEventLocked(new RunEvent(mark.Unix, step, RunEventKinds.Checkpoint, string.Create(CultureInfo.InvariantCulture, $"checkpoint step {step}{(isBest ? " (best)" : string.Empty)}: {directory}")));
        }
    }

    /// <summary>A failed checkpoint commit (from the background commit's thread) is the run's last error.</summary>
    public void OnCheckpointFailed(long step, string directory, string error) =>
        Error(string.Create(CultureInfo.InvariantCulture, $"checkpoint step {step} failed ({directory}): {error}"));

    public void OnSample(long step, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        lock (_gate)
        {
            _sample = text;
            PublishLocked(new SampleUpdate(step, text));
        }
    }

    /// <summary>
    /// The whole members table as it is now (a member is its role and index); joins and state changes become
    /// member events.
    /// </summary>
    public void MembersChanged(IReadOnlyList<MemberStatus> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        var unix = Now;
        lock (_gate)
        {
            foreach (var member in members)
            {
                NoteChangeLocked(_members.Find(m => SameMember(m, member)), member, unix);
            }

            _members.Clear();
            _members.AddRange(members);
            SortAndPublishMembersLocked();
        }
    }

    /// <summary>One member's new status (matched by role and index; a new one is added).</summary>
    public void MemberChanged(MemberStatus member)
    {
        ArgumentNullException.ThrowIfNull(member);
        var unix = Now;
        lock (_gate)
        {
            var at = _members.FindIndex(m => SameMember(m, member));
            NoteChangeLocked(at < 0 ? null : _members[at], member, unix);
            if (at < 0)
            {
                _members.Add(member);
            }
            else
            {
                _members[at] = member;
            }

            SortAndPublishMembersLocked();
        }
    }

    /// <summary>
    /// Changes the given fields of member <paramref name="index"/> of <paramref name="role"/>, adding it (joining,
    /// incarnation 1, address <c>role-index</c> unless given) when it is new: each actor reports what it knows.
    /// </summary>
    public void MemberChanged(int index, string role, string? address = null, string? state = null, long? incarnation = null, double? streamShare = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(role);
        MemberStatus current;
        lock (_gate)
        {
            current = _members.Find(m => m.Index == index && m.Role == role)
                ?? new MemberStatus(index, role, string.Create(CultureInfo.InvariantCulture, $"{role}-{index}"), MemberStates.Joining, 1, null, null);
        }

        MemberChanged(current with
        {
            Address = address ?? current.Address,
            State = state ?? current.State,
            Incarnation = incarnation ?? current.Incarnation,
            StreamShare = streamShare ?? current.StreamShare,
        });
    }

    /// <summary>A member of <paramref name="role"/> now, or null.</summary>
    public MemberStatus? FindMember(int index, string role)
    {
        lock (_gate)
        {
            return _members.Find(m => m.Index == index && m.Role == role);
        }
    }

    /// <summary>A new generation of the run (a re-plan after members changed): <paramref name="reason"/> says why.</summary>
    public void GenerationStarted(int generation, string reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        var unix = Now;
        lock (_gate)
        {
            _generation = generation;
            AddEventLocked(new RunEvent(unix, _step, RunEventKinds.Generation, string.Create(CultureInfo.InvariantCulture, $"generation {generation}: {reason}")));
        }
    }

    /// <summary>A failure the run survives (a worker lost, a step retried).</summary>
    public void Failure(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var unix = Now;
        lock (_gate)
        {
            AddEventLocked(new RunEvent(unix, _step, RunEventKinds.Failure, text));
        }
    }

    /// <summary>An error worth showing until the next one (<c>lastError</c>).</summary>
    public void Error(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var unix = Now;
        lock (_gate)
        {
            _lastError = text;
            AddEventLocked(new RunEvent(unix, _step, RunEventKinds.Error, text));
        }
    }

    /// <summary>
    /// The step-time split of the last interval, and each worker's mean step time (by worker index; workers not
    /// named keep theirs).
    /// </summary>
    public void StepTimes(StepSplit split, IReadOnlyDictionary<int, double>? workerStepMs = null)
    {
        ArgumentNullException.ThrowIfNull(split);
        lock (_gate)
        {
            _split = split;
            PublishLocked(new SplitUpdate(split));
            if (workerStepMs is null || workerStepMs.Count == 0)
            {
                return;
            }

            for (var i = 0; i < _members.Count; i++)
            {
                if (_members[i].Role == MemberStates.Worker && workerStepMs.TryGetValue(_members[i].Index, out var ms))
                {
                    _members[i] = _members[i] with { StepMs = ms };
                }
            }

            PublishLocked(new MembersUpdate(_members.ToArray()));
        }
    }

    /// <summary>The trainer returned (<paramref name="error"/> null) or threw.</summary>
    public void Finished(string? error = null)
    {
        lock (_gate)
        {
            _state = error is null ? RunStates.Finished : RunStates.Failed;
            if (error is not null)
            {
                _lastError = error;
                AddEventLocked(new RunEvent(Now, _step, RunEventKinds.Error, error));
            }

            PublishStateLocked();
        }
    }

    /// <summary>The figures <see cref="RunMeter"/> reports, read under the lock.</summary>
    internal MeterFigures ReadFigures()
    {
        lock (_gate)
        {
            return new MeterFigures(_step, _generation, new LatestFigures(_loss, _learningRate, _gradientNorm, _tokensPerSecond, _validLoss, _validPerplexity, _validBitsPerToken), _split, _lastCheckpoint?.Unix, _members.ToArray());
        }
    }

    private static bool SameMember(MemberStatus a, MemberStatus b) => a.Index == b.Index && a.Role == b.Role;

    private void NoteChangeLocked(MemberStatus? before, MemberStatus member, double unix)
    {
        if (before is null)
        {
            AddEventLocked(new RunEvent(unix, _step, RunEventKinds.Member, $"{member.Role} {member.Index} ({member.Address}) {member.State}"));
        }
        else if (before.State != member.State)
        {
            AddEventLocked(new RunEvent(unix, _step, RunEventKinds.Member, $"{member.Role} {member.Index} ({member.Address}): {before.State} -> {member.State}"));
        }
    }

    private void SortAndPublishMembersLocked()
    {
        // The coordinator first, then the workers by index.
        _members.Sort(static (a, b) => (a.Role == MemberStates.Coordinator ? 0 : 1).CompareTo(b.Role == MemberStates.Coordinator ? 0 : 1) is var byRole and not 0 ? byRole : a.Index.CompareTo(b.Index));
        PublishLocked(new MembersUpdate(_members.ToArray()));
    }

    private MonitorSnapshot SnapshotLocked() => new(
        _run, _state, _step, _epoch, _generation, _lastCheckpoint, _lastError, _train.Copy(), _valid.Copy(), _members.ToArray(), _events.ToArray(), _split, _sample);

    private void AddEventLocked(RunEvent runEvent)
    {
        if (_events.Count == EventCapacity)
        {
            _events.Dequeue();
        }

        _events.Enqueue(runEvent);
        PublishLocked(new EventUpdate(runEvent));
    }

    /// <summary>A change that touches the run's description or state: followers get a whole new snapshot.</summary>
    private void PublishStateLocked()
    {
        if (_followers.Count > 0)
        {
            PublishLocked(new StateUpdate(SnapshotLocked()));
        }
    }

    private void PublishLocked(MonitorUpdate update)
    {
        // Backwards: a follower that is full is removed while we go.
        for (var i = _followers.Count - 1; i >= 0; i--)
        {
            if (!_followers[i].TryPublish(update))
            {
                _followers.RemoveAt(i);
            }
        }
    }
}

/// <summary>The latest scalar figures of a run; NaN until reported.</summary>
internal sealed record LatestFigures(double Loss, double LearningRate, double GradientNorm, double TokensPerSecond, double ValidLoss, double ValidPerplexity, double ValidBitsPerToken);

/// <summary>What one metrics collection reads from the monitor.</summary>
internal sealed record MeterFigures(long Step, int Generation, LatestFigures Latest, StepSplit? Split, double? LastCheckpointUnix, IReadOnlyList<MemberStatus> Members);
