using Akka.Actor;
using Microsoft.Extensions.Logging;
using RnnCluster.Config;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Training;
using RnnCluster.Training.Parallel;

namespace RnnCluster.Parallel;

/// <summary>
/// Owns the run: the master parameters and optimizer (through the <see cref="ITrainingLoop"/>), the data
/// cursor, the streams' states and the shard plan (<see cref="StepProtocol"/>). Each step it sends every
/// worker its shard, sums the contributions in plan order and applies the step. States:
/// <list type="bullet">
/// <item><see cref="AwaitingWorkers"/>: until its worker supervisor reports the workers;</item>
/// <item><see cref="Idle"/>: between steps (the next one is planned at once);</item>
/// <item><see cref="StepOpen"/>: a step is dispatched; replies, failures and the deadline arrive;</item>
/// <item><see cref="Finished"/>: the outcome went to the parent; everything else is ignored.</item>
/// </list>
/// A worker that throws is restarted by its supervisor and says so (<see cref="ShardFailed"/>): its
/// shard is retried. A worker stopped for good (Terminated) starts a new generation, and the open step
/// is recomputed by the survivors from the states it started from. If the coordinator itself fails,
/// its parent restarts it and it resumes from the newest committed checkpoint.
/// </summary>
public sealed class CoordinatorActor : ReceiveActor, IWithTimers
{
    private const string DeadlineTimer = "step-deadline";

    // Generations a coordinator incarnation may form before the next one's numbers begin.
    private const int GenerationsPerIncarnation = 100_000;

    private readonly CoordinatorOptions _options;
    private readonly ILogger _logger;
    private readonly Dictionary<int, IActorRef> _workers = [];
    private ITrainingLoop? _loop;
    private StepProtocol? _protocol;
    private float[] _parameters = [];
    private long _dispatched;
    // All-reduce mode: the step the master's parameters are current at (the start, a resume, a fetch).
    private long _masterStep = -1;
    private RemoteReplicas? _remote;
    private readonly MonitorFeed? _feed;
    private CancellationTokenRegistration _stopRegistration;

    public CoordinatorActor(CoordinatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = options.LoggerFactory.CreateLogger<CoordinatorActor>();
        _feed = options.Monitor is { } monitor ? new MonitorFeed(monitor, options.Time, options.LocalWorkers) : null;
        Become(AwaitingWorkers);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    private ITrainingLoop Loop => _loop ?? throw new InvalidOperationException("the coordinator has no training loop");

    private StepProtocol Protocol => _protocol ?? throw new InvalidOperationException("the coordinator has no step protocol");

    protected override void PreStart()
    {
        _options.Incarnation++;
        if (_options.InitialLoop is { } first)
        {
            _options.InitialLoop = null;
            _loop = first;
        }
        else
        {
            // The newest checkpoint that verifies: a damaged newer one is passed over (and named), never retried.
            var logger = _logger;
            var resume = CheckpointReader.FindNewestValid(_options.RunDirectory, reason => ParallelLog.CheckpointSkipped(logger, reason));
            _loop = _options.CreateLoop(resume);
            if (resume is not null)
            {
                ParallelLog.CoordinatorResumed(_logger, resume);
            }
        }

        _protocol = new StepProtocol(_loop.StreamCount, _options.AllReduce, firstGeneration: (_options.Incarnation - 1) * GenerationsPerIncarnation) { BalanceStreams = _options.BalanceStreams };
        if (_options.AllReduce)
        {
            _masterStep = _loop.Step;
            var fetchTimeout = _options.FetchTimeout;
            _remote = new RemoteReplicas((step, _) => FetchAsync(step, fetchTimeout));
            _loop.UseRemoteReplicas(_remote);
        }

        // The master's own parameter array where it has one: workers read it in place (the master
        // changes it only once every reply of the step is in).
        _parameters = _loop.Master.ParameterArray ?? new float[_loop.Master.ParameterCount];
        if (_options.Cancellation.IsCancellationRequested)
        {
            // Stopped before this incarnation began (the previous one failed while stopping, e.g. its final fetch
            // found every worker gone with the run): end at the checkpoint just resumed, without waiting for
            // workers, which in a cluster may never come.
            ParallelLog.StoppedWhileWaiting(_logger, _loop.Step, ", the newest committed checkpoint (a stop was requested before the coordinator restarted)");
            _loop.Start();
            BecomeIdle();
            return;
        }

        var self = Self;
        _stopRegistration = _options.Cancellation.Register(() => self.Tell(StopRequested.Instance));
        if (!_options.LocalWorkers)
        {
            Context.Parent.Tell(AttachWorkers.Instance);
            return;
        }

        var workerModel = _loop.MasterOptions;
        var workers = Enumerable.Range(0, _options.Parallel.Workers)
            .Select(i => new WorkerOptions(i, workerModel, _options.WorkerFaults, _options.Time))
            .ToArray();
        foreach (var worker in workers)
        {
            _feed?.LocalWorker(worker.Index, _options.Incarnation);
        }

        var parallel = _options.Parallel;
        // A name per incarnation: after a restart the previous supervisor may still be stopping.
        Context.ActorOf(Props.Create(() => new WorkerSupervisor(workers, parallel.MaxWorkerFailures, parallel.FailureWindow)), $"workers-{_options.Incarnation}");
    }

    protected override void PreRestart(Exception reason, object message)
    {
        ParallelLog.CoordinatorRestarting(_logger, reason, _loop?.Step ?? 0);
        base.PreRestart(reason, message);
    }

    protected override void PostStop()
    {
        _stopRegistration.Dispose();
        _loop?.Dispose();
        _loop = null;
    }

    private void AwaitingWorkers()
    {
        Receive<WorkersReady>(ready =>
        {
            Welcome(ready);
            if (Protocol.Joining.Count < _options.MinWorkers)
            {
                ParallelLog.WaitingForWorkers(_logger, Protocol.Joining.Count, _options.MinWorkers);
                return;
            }

            Protocol.TakeJoiners();
            LogGeneration("the workers are ready");
            Loop.Start();
            BecomeIdle();
        });
        Receive<Terminated>(OnTerminated);
        // Nothing trained yet in this incarnation: the loop, started, sees the stop at once and finishes.
        Receive<StopRequested>(_ =>
        {
            ParallelLog.StoppedWhileWaiting(_logger, Loop.Step, Loop.Step > 0 ? ", where it resumed" : " (no step trained)");
            Loop.Start();
            BecomeIdle();
        });
    }

    /// <summary>A cluster whose every worker is gone: the open step (if any) waits for newcomers, who recompute it.</summary>
    private void AwaitingNewWorkers()
    {
        Receive<WorkersReady>(ready =>
        {
            Welcome(ready);
            Protocol.TakeJoiners();
            LogGeneration("workers joined after every worker was gone");
            if (Protocol.OpenStep is null)
            {
                BecomeIdle();
                return;
            }

            if (_options.AllReduce)
            {
                EnsureSeed();
            }

            Send(Protocol.Redispatch());
            Become(StepOpen);
        });
        Receive<WindowGradients>(Refuse);
        Receive<StepDeadlinePassed>(_ => { });
        Receive<ShardFailed>(_ => { });
        Receive<Terminated>(OnTerminated);
        Receive<StopRequested>(_ =>
        {
            // Between steps with the master current, the loop finishes as on any stop (a final checkpoint).
            if (Protocol.OpenStep is null && (!_options.AllReduce || _masterStep == Loop.Step))
            {
                ParallelLog.StoppedWhileWaiting(_logger, Loop.Step, ", with a final checkpoint");
                BecomeIdle();
                return;
            }

            // A step half done, or the run's parameters only on the workers that left: this incarnation cannot
            // finish. Failing restarts the coordinator from the newest committed checkpoint, and with the stop
            // already requested the next incarnation ends there at once.
            throw new InvalidOperationException($"stopped on request while every worker was gone and the run at step {Loop.Step} with them; it ends at the newest committed checkpoint");
        });
    }

    private void Idle()
    {
        ReceiveAsync<BeginStep>(_ => BeginStepAsync());
        Receive<WindowGradients>(Refuse);
        Receive<StepDeadlinePassed>(_ => { });
        Receive<ShardFailed>(f =>
        {
            ParallelLog.WorkerFailed(_logger, f.WorkerIndex, f.Step, "Restart", f.Reason);
            _feed?.Restarted(f.WorkerIndex, f.Step, f.Reason);
        });
        Receive<WorkersReady>(Welcome);
        Receive<Terminated>(OnTerminated);
    }

    private void StepOpen()
    {
        ReceiveAsync<WindowGradients>(OnGradientsAsync);
        Receive<ShardFailed>(OnShardFailed);
        ReceiveAsync<StepDeadlinePassed>(OnDeadlineAsync);
        Receive<WorkersReady>(Welcome);
        Receive<Terminated>(OnTerminated);
    }

    private void Finished() => ReceiveAny(_ => { });

    /// <summary>A stop seen in a state that does not wait for workers: the loop sees it between steps.</summary>
    protected override void Unhandled(object message)
    {
        if (message is not StopRequested)
        {
            base.Unhandled(message);
        }
    }

    private void BecomeIdle()
    {
        Become(Idle);
        Self.Tell(BeginStep.Instance);
    }

    /// <summary>Watches new workers; they join the plan at the next step boundary.</summary>
    private void Welcome(WorkersReady ready)
    {
        foreach (var (index, address) in ready.Addresses)
        {
            Protocol.SetAddress(index, address);
        }

        foreach (var (index, worker) in ready.Workers)
        {
            _workers[index] = worker;
            Context.Watch(worker);
            Protocol.Join(index);
            _feed?.Joining(index);
        }
    }

    private async Task BeginStepAsync()
    {
        if (Protocol.TakeJoiners())
        {
            LogGeneration("workers joined");
        }

        if (_options.FailBeforeStep is { } failAt && Loop.Step + 1 == failAt)
        {
            _options.FailBeforeStep = null;
            throw new InvalidOperationException($"injected coordinator fault before step {failAt}");
        }

        // The snapshot is the run after the last step, before the next one moves the data cursor.
        // Broadcast time counts it with the dispatch (the split's "snapshot and dispatch"), not the next window.
        var snapshotStarted = _options.Time.GetTimestamp();
        RunSnapshot? snapshot = null;
        if (_options.AllReduce)
        {
            // The workers hold the parameters and optimizer state: they complete the trainer's part with theirs.
            snapshot = _options.SnapshotsToWorkers ? Loop.TrainerSnapshot() : null;
        }
        else if (_options.SnapshotsToWorkers)
        {
            CopyParameters();
            snapshot = Loop.Snapshot(_parameters);
        }

        var snapshotSeconds = _options.Time.GetElapsedTime(snapshotStarted).TotalSeconds;
        ITrainingStep? step;
        RunSummary summary;
        try
        {
            step = await Loop.NextStepAsync(_options.Cancellation).ConfigureAwait(true);
            summary = step is null ? await Loop.FinishAsync(_options.Timings).ConfigureAwait(true) : null!;
        }
        catch (TrainingAbortedException e)
        {
            Abort(e);
            return;
        }

        if (step is null)
        {
            // Not stopping here: the driver terminates the actor system once it has the outcome.
            Context.Parent.Tell(new TrainingFinished(summary));
            Become(Finished);
            return;
        }

        var started = _options.Time.GetTimestamp();
        if (_options.AllReduce)
        {
            EnsureSeed();
            Send(Protocol.Open(step, [], snapshot));
            _dispatched = _options.Time.GetTimestamp();
            _options.Timings.BroadcastSeconds += snapshotSeconds + _options.Time.GetElapsedTime(started, _dispatched).TotalSeconds;
            Become(StepOpen);
            return;
        }

        if (snapshot is null)
        {
            CopyParameters();
        }

        Send(Protocol.Open(step, _parameters, snapshot));
        _dispatched = _options.Time.GetTimestamp();
        _options.Timings.BroadcastSeconds += snapshotSeconds + _options.Time.GetElapsedTime(started, _dispatched).TotalSeconds;
        Become(StepOpen);
    }

    /// <summary>
    /// All-reduce mode, before a dispatch: when no worker of the plan holds the run, the master seeds them
    /// all — possible only while it is current (the start, a resume, a rebuild, a fetch at this step). If
    /// every worker that held the run is gone since, the run's parameters are lost with them: fail, and the
    /// restarted coordinator resumes from the newest checkpoint.
    /// </summary>
    private void EnsureSeed()
    {
        if (!Protocol.NeedsSeed || Protocol.Seed is { } seed && seed.Step == Loop.Step)
        {
            return;
        }

        if (_masterStep != Loop.Step)
        {
            throw new InvalidOperationException($"every worker that held the run at step {Loop.Step} is gone; resuming from the newest checkpoint");
        }

        var parameters = Loop.Master.ParameterSpan.ToArray();
        var state = Loop.Snapshot(parameters);
        Protocol.Seed = new ReplicaCopy(Loop.Step, parameters, state.OptimizerState, state.OptimizerSteps);
    }

    /// <summary>
    /// All-reduce mode: the parameters and optimizer state after <paramref name="step"/> from a worker that
    /// holds them (it applies the step's commit first). Asked, not told: the coordinator is inside its step
    /// completion and takes no message until this returns. Holders are asked in turn: one whose link ends
    /// while it is asked (its node was killed), that does not answer in time (paused) or that sends no copy of
    /// this step passes the fetch to the next. Before, the coordinator waited out the fetch timeout on a dead
    /// holder and was then restarted from an older checkpoint, though a live worker held the run (seen in CI:
    /// a kill at an epoch end).
    /// </summary>
    private async Task<ReplicaCopy> FetchAsync(long step, TimeSpan timeout)
    {
        var holders = Protocol.Holders.Where(_workers.ContainsKey).Order().ToList();
        if (holders.Count == 0)
        {
            throw new InvalidOperationException($"no worker holds the run at step {step} to fetch it from");
        }

        var commit = new StepCommit(step, Loop.LastLearningRate);
        using var done = new CancellationTokenSource();
        try
        {
            return await FetchFromAsync(holders, step, commit, timeout, done.Token).ConfigureAwait(true);
        }
        finally
        {
            // Ends the death watches of the holders still asked.
            await done.CancelAsync().ConfigureAwait(true);
        }
    }

    private async Task<ReplicaCopy> FetchFromAsync(List<int> holders, long step, StepCommit commit, TimeSpan timeout, CancellationToken done)
    {
        // One worker sends its copy; every other holder only the checksum of its own: they must agree.
        var checks = holders.Skip(1).ToDictionary(w => w, w => AskUnlessGoneAsync(_workers[w], new FetchReplica(step, commit, ChecksumOnly: true), timeout, done));
        ReplicaCopy? copy = null;
        var from = -1;
        foreach (var holder in holders)
        {
            // One fetch at a time per link (it hands a copy to its latest asker): a holder asked for its checksum
            // answers that first. One silent or gone by then is passed over too.
            if (checks.Remove(holder, out var pending) && await pending.ConfigureAwait(true) is { Copy: null } silent)
            {
                ParallelLog.FetchPassedOn(_logger, step, holder, silent.Why);
                continue;
            }

            var (reply, why) = await AskUnlessGoneAsync(_workers[holder], new FetchReplica(step, commit), timeout, done).ConfigureAwait(true);
            if (reply is { } r && r.Step == step)
            {
                (copy, from) = (r, holder);
                break;
            }

            ParallelLog.FetchPassedOn(_logger, step, holder, reply is null ? why : $"it sent a copy of step {reply.Step}");
        }

        if (copy is null)
        {
            throw new InvalidOperationException($"no worker that held the run at step {step} sent it (every one is gone or failed); resuming from the newest checkpoint");
        }

        if (ReplicaCopy.Hash(copy.Parameters, copy.OptimizerState, copy.OptimizerSteps) != copy.Checksum)
        {
            throw new InvalidOperationException($"the copy of the run worker {from} sent at step {step} does not match its checksum; resuming from the newest checkpoint");
        }

        var agreeing = 1;
        foreach (var (other, check) in checks)
        {
            // A holder gone or silent meanwhile has nothing to disagree with.
            if ((await check.ConfigureAwait(true)).Copy is not { } c || c.Step != step)
            {
                continue;
            }

            if (c.Checksum != copy.Checksum)
            {
                throw new InvalidOperationException($"the replicas disagree at step {step}: worker {from} holds {copy.Checksum:x16}, worker {other} {c.Checksum:x16}; resuming from the newest checkpoint");
            }

            agreeing++;
        }

        _masterStep = copy.Step;
        ParallelLog.ReplicasAgree(_logger, step, agreeing, copy.Checksum);
        return copy;
    }

    /// <summary>
    /// The worker's answer, or why there is none: its link (or actor) stopped before it answered, or it did not
    /// answer within <paramref name="timeout"/> (a paused node).
    /// </summary>
    private static async Task<(ReplicaCopy? Copy, string Why)> AskUnlessGoneAsync(IActorRef worker, FetchReplica request, TimeSpan timeout, CancellationToken done)
    {
        var answer = worker.Ask<ReplicaCopy>(request, timeout);
        var gone = worker.WatchAsync(done);
        var first = await Task.WhenAny(answer, gone).ConfigureAwait(true);
        if (first == answer || answer.IsCompleted || !await gone.ConfigureAwait(true))
        {
            try
            {
                return (await answer.ConfigureAwait(true), "");
            }
            catch (AskTimeoutException)
            {
                return (null, $"no answer within {timeout.TotalSeconds:0.#} s");
            }
        }

        // Gone: the answer can no longer come; observe its timeout so it is not an unobserved exception.
        _ = answer.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return (null, "its link ended while it was asked");
    }

    /// <summary>The master's parameters into the commands' array, unless it is the master's own.</summary>
    private void CopyParameters()
    {
        if (!ReferenceEquals(_parameters, Loop.Master.ParameterArray))
        {
            Loop.Master.ParameterSpan.CopyTo(_parameters);
        }
    }

    private void Send(IReadOnlyList<(int Worker, object Command)> commands)
    {
        foreach (var (worker, command) in commands)
        {
            _workers[worker].Tell(command);
        }

        if (_options.Parallel.StepDeadline > TimeSpan.Zero && Protocol.OpenStep is { } open)
        {
            Timers.StartSingleTimer(DeadlineTimer, new StepDeadlinePassed(open.Step, Protocol.Generation), _options.Parallel.StepDeadline);
        }
    }

    private async Task OnGradientsAsync(WindowGradients g)
    {
        switch (Protocol.Accept(g))
        {
            case ReplyVerdict.Stale:
                Refuse(g);
                break;
            case ReplyVerdict.Duplicate:
                ParallelLog.DuplicateGradients(_logger, g.WorkerIndex, g.Step, g.Attempt);
                break;
            case ReplyVerdict.StepComplete:
                await CompleteAsync().ConfigureAwait(true);
                break;
            case ReplyVerdict.Abandoned:
                // A peer of this worker is gone or stalled: every member abandons the step, applying nothing.
                // One new generation (later abandonments of the old one are stale) recomputes it.
                ParallelLog.StepAbandoned(_logger, g.WorkerIndex, g.Step, g.Generation);
                Protocol.Regenerate();
                LogGeneration($"worker {g.WorkerIndex} abandoned step {g.Step}");
                EnsureSeed();
                Send(Protocol.Redispatch());
                break;
        }
    }

    private void Refuse(WindowGradients g) =>
        ParallelLog.StaleGradients(_logger, g.WorkerIndex, g.Step, g.Generation, g.Attempt, Protocol.OpenStep?.Step ?? -1, Protocol.Generation);

    /// <summary>Reduces the received contributions in plan order, applies the step and plans the next.</summary>
    private async Task CompleteAsync()
    {
        var time = _options.Time;
        var reduceStarted = time.GetTimestamp();
        Timers.Cancel(DeadlineTimer);
        var closed = Protocol.Close(_options.AllReduce ? [] : Loop.Master.GradientSpan);
        var reduced = time.GetTimestamp();
        var timings = _options.Timings;
        var replies = closed.Replies;
        _feed?.Replies(replies);
        var slowest = replies.Select(g => g.ComputeSeconds + g.CopySeconds).DefaultIfEmpty(0).Max();
        timings.ComputeSeconds += replies.Select(g => g.ComputeSeconds).DefaultIfEmpty(0).Max();
        var longestCopy = replies.MaxBy(g => g.CopySeconds);
        timings.TransferSeconds += Math.Max(0, time.GetElapsedTime(_dispatched, reduceStarted).TotalSeconds - slowest) + (longestCopy?.CopySeconds ?? 0);
        timings.PeerWaitSeconds += _options.AllReduce ? StepTimeSplit.PeerWait(replies) : 0;
        timings.AveragingSeconds += time.GetElapsedTime(reduceStarted, reduced).TotalSeconds;
        if (_options.AllReduce)
        {
            _remote!.Norm = closed.Norm;
        }

        var stepsBefore = Loop.Step;
        var rollbacksBefore = Loop.Rollbacks;
        try
        {
            await Loop.CompleteStepAsync(closed.Step, closed.LossSum, closed.Tokens).ConfigureAwait(true);
        }
        catch (TrainingAbortedException e)
        {
            Abort(e);
            return;
        }

        if (_options.AllReduce && Loop.Step > stepsBefore)
        {
            // The replicas apply it when the next command (or a fetch) brings them this commit; a step the
            // guard skipped commits with a NaN rate, which every replica takes as "leave the run as it is".
            Protocol.Commit = new StepCommit(Loop.Step, Loop.LastLearningRate);
        }

        // Once the guard has skipped a step, workers report a NaN instead of failing for the rest of the run:
        // the data has shown it yields them, and a replica that takes the master's parameters with every
        // command holds nothing a restart would cure (a transient fault then costs a skipped step).
        Protocol.ReportNonFinite |= Loop.Step > stepsBefore && Loop.LastStepSkipped;
        if (_options.AllReduce && Loop.Rollbacks != rollbacksBefore)
        {
            // The loop reloaded the run from a checkpoint into the master: the replicas' copies are void,
            // and the master seeds a new generation before the next step.
            _masterStep = Loop.Step;
            Protocol.ForgetHolders();
            LogGeneration($"rolled back to step {Loop.Step}");
        }

        timings.ApplySeconds += time.GetElapsedTime(reduced).TotalSeconds;
        timings.Steps++;
        _feed?.StepDone(timings);
        BecomeIdle();
    }

    /// <summary>The worker's supervisor restarted it with a fresh replica; the protocol retries its shard.</summary>
    private void OnShardFailed(ShardFailed failed)
    {
        ParallelLog.WorkerFailed(_logger, failed.WorkerIndex, failed.Step, "Restart", failed.Reason);
        _feed?.Restarted(failed.WorkerIndex, failed.Step, failed.Reason);
        if (_options.AllReduce)
        {
            // The restarted replica lost the run: a new generation syncs it from a peer (its peers abandon
            // the open step when its old group closes).
            if (!_workers.ContainsKey(failed.WorkerIndex) || !Protocol.Workers.Contains(failed.WorkerIndex))
            {
                return;
            }

            Protocol.Regenerate(failed.WorkerIndex);
            LogGeneration($"worker {failed.WorkerIndex} restarted");
            if (Protocol.OpenStep is not null)
            {
                EnsureSeed();
                Send(Protocol.Redispatch());
            }

            return;
        }

        if (Protocol.Retry(failed.WorkerIndex, failed.NonFinite) is { } command)
        {
            _workers[failed.WorkerIndex].Tell(command);
        }
    }

    /// <summary>A worker was stopped for good: its streams move to the others in a new generation.</summary>
    private void OnTerminated(Terminated terminated)
    {
        if (_workers.Where(w => w.Value.Equals(terminated.ActorRef)).Select(w => (int?)w.Key).FirstOrDefault() is not { } index)
        {
            return;
        }

        _workers.Remove(index);
        if (!Protocol.Remove(index))
        {
            return;
        }

        ParallelLog.WorkerStopped(_logger, index, Protocol.Workers.Count);
        _feed?.Lost(index, Protocol.Workers.Count);
        if (Protocol.Workers.Count == 0 && !_options.LocalWorkers)
        {
            Timers.Cancel(DeadlineTimer);
            ParallelLog.WaitingForWorkers(_logger, 0, 1);
            Become(AwaitingNewWorkers);
            if (_options.Cancellation.IsCancellationRequested)
            {
                // The stop came while a step was open (and was left to the loop): nothing else would end the wait.
                Self.Tell(StopRequested.Instance);
            }

            return;
        }

        if (Protocol.Workers.Count == 0)
        {
            Timers.CancelAll();
            Context.Parent.Tell(new TrainingAborted($"every worker was stopped after repeated failures (parallel.max-worker-failures = {_options.Parallel.MaxWorkerFailures}); the last committed checkpoint in {_options.RunDirectory} is intact"));
            Become(Finished);
            return;
        }

        LogGeneration($"worker {index} stopped");
        if (Protocol.OpenStep is not null)
        {
            // Contributions of the old generation are discarded; the survivors recompute the whole
            // open step from the states it started from.
            if (_options.AllReduce)
            {
                EnsureSeed();
            }

            Send(Protocol.Redispatch());
        }
    }

    /// <summary>
    /// The deadline passed with replies missing. "drop" closes the step without them when any came;
    /// otherwise the missing shards are sent again (a lost command or reply never hangs the run: the
    /// commands are idempotent and a worker answers a repeat from its last reply) and the deadline re-armed.
    /// </summary>
    private async Task OnDeadlineAsync(StepDeadlinePassed deadline)
    {
        if (Protocol.OpenStep is not { } open || deadline.Step != open.Step || deadline.Generation != Protocol.Generation)
        {
            return;
        }

        var missing = Protocol.Missing;
        var policy = _options.Parallel.StragglerPolicy;
        ParallelLog.Straggler(_logger, open.Step, _options.Parallel.StepDeadline, string.Join(", ", missing), SettingNames.StragglerPolicies.ToName(policy));
        _feed?.Failure($"step {open.Step}: no reply from worker {string.Join(", ", missing)} within {_options.Parallel.StepDeadline.TotalSeconds:0.#} s ({SettingNames.StragglerPolicies.ToName(policy)})");
        // With all-reduce a missing member holds up its peers' sums too: no step closes without it.
        if (policy == StragglerPolicy.Drop && Protocol.ReceivedCount > 0 && !_options.AllReduce)
        {
            await CompleteAsync().ConfigureAwait(true);
            return;
        }

        var retries = missing.Select(w => (w, Protocol.Retry(w))).Where(c => c.Item2 is not null).Select(c => (c.w, c.Item2!)).ToArray();
        Send(retries);
    }

    /// <summary>
    /// The loop ended the run (a checkpoint failed under <c>checkpoint.on-failure = stop</c>): an outcome, not a
    /// crash, so no restart resumes from an older checkpoint and trains the same steps again.
    /// </summary>
    private void Abort(TrainingAbortedException e)
    {
        Timers.CancelAll();
        ParallelLog.RunAborted(_logger, e.Message);
        Context.Parent.Tell(new TrainingAborted(e.Message));
        Become(Finished);
    }

    private void LogGeneration(string reason)
    {
        ParallelLog.NewGeneration(_logger, Protocol.Generation, Protocol.Workers.Count, string.Join(" ", Protocol.Plan.Select(s => $"w{s.WorkerIndex}:[{s.FirstStream},{s.FirstStream + s.StreamCount})")));
        _feed?.Generation(Protocol.Generation, reason, Protocol.Plan, Loop.StreamCount);
    }
}
