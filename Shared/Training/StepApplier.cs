using Microsoft.Extensions.Logging;
using RnnCluster.Config;
using RnnCluster.Torch;
using RnnCluster.Training.Numerics;

namespace RnnCluster.Training;

/// <summary>
/// What every training loop does with a step once the gradient SUM over its targets is in the master's
/// gradient buffer — whoever computed it, and whatever a step is (an LM window, a task batch): average
/// and clip in one pass, ask the <see cref="NumericalGuard"/> (a non-finite loss or norm, or a loss spike,
/// skips the update: logged with its data and written to metrics.jsonl), step the optimizer, count
/// it, report it (observer, and metrics.jsonl every <c>training.log-every-steps</c>), then validate,
/// checkpoint and stop as configured. The loops keep what differs: their data, cursor and state.
/// </summary>
internal sealed class StepApplier(TorchModel model, Optimizer optimizer, LearningRateSchedule schedule, TrainingSettings training, TimeProvider time, ILogger logger, ITrainingObserver? observer)
{
    private readonly NumericalGuard _guard = new(training.Numerics);
    private IntervalStats _interval = new(0);
    private long _currentAt = -1;

    /// <summary>
    /// Set when the replicas hold the parameters and step themselves (a cluster whose workers all-reduce):
    /// <see cref="Apply"/> then counts and reports the step with the norm they computed and leaves the
    /// master alone, and the master is brought up to date from a replica only when something reads it.
    /// </summary>
    public RemoteReplicas? Remote { get; private set; }

    /// <summary>
    /// The learning rate of the last step (what the replicas step with): NaN when the guard skipped it, so
    /// a commit of a skipped step leaves every replica's parameters and optimizer state as they were.
    /// </summary>
    public double LastLearningRate { get; private set; }

    /// <summary>Whether the guard skipped the last step.</summary>
    public bool LastSkipped { get; private set; }

    /// <summary>After a rollback the master holds the run again (loaded from a checkpoint) as of <paramref name="step"/>.</summary>
    public void MarkCurrent(long step) => _currentAt = step;

    /// <summary>From now on the replicas step; the master is current as of <paramref name="step"/>.</summary>
    public void UseRemote(RemoteReplicas remote, long step)
    {
        ArgumentNullException.ThrowIfNull(remote);
        Remote = remote;
        _currentAt = step;
    }

    /// <summary>
    /// Before anything reads the master (validation, checkpoint, the end of the run): with remote replicas
    /// its parameters and optimizer state are fetched from one of them, once per step.
    /// </summary>
    public async Task EnsureCurrentAsync(long step)
    {
        if (Remote is not { } remote || _currentAt == step)
        {
            return;
        }

        var copy = await remote.Fetch(step, CancellationToken.None).ConfigureAwait(false);
        if (copy.Step != step)
        {
            throw new InvalidOperationException($"a replica sent its parameters after step {copy.Step}; the run is at step {step}");
        }

        ModelTensors.Load(model, optimizer, copy.Parameters, copy.OptimizerState, copy.OptimizerSteps, $"the replica's copy at step {step}");
        _currentAt = step;
    }

    /// <summary>Starts the first metrics interval (with the loop's Start).</summary>
    public void Start() => _interval = new IntervalStats(time.GetTimestamp());

    /// <summary>
    /// Applies the step unless the guard finds it bad; returns what it did. <paramref name="position"/> is the
    /// share of the epoch done, for the observer; <paramref name="data"/> names the step's data for the log.
    /// A skipped step keeps its number (the schedule goes on as planned) but changes neither parameters nor
    /// optimizer state, and its targets are not counted as trained.
    /// </summary>
    public StepOutcome Apply(TrainerProgress progress, MetricsLog metrics, long started, double lossSum, long count, double learningRateScale, double position, StepData data)
    {
        ArgumentNullException.ThrowIfNull(progress);
        ArgumentNullException.ThrowIfNull(data);
        // Remote replicas averaged, clipped and measured the same gradient (the same bytes as this would).
        var norm = Remote is { } remote ? remote.Norm : model.ScaleAndClipGradients(1.0 / count, training.ClipNorm);
        var number = progress.Step + 1;
        var lr = schedule.RateAt(number, progress.PlateauRate) * learningRateScale;
        var loss = lossSum / count;
        var verdict = _guard.Judge(progress.Numerics, loss, norm);
        var rollBack = _guard.Record(progress.Numerics, verdict, loss);
        var applied = verdict == StepVerdict.Apply;
        LastSkipped = !applied;
        LastLearningRate = applied ? lr : double.NaN;
        progress.Step = number;
        if (applied)
        {
            // Remote replicas step themselves when the commit reaches them.
            if (Remote is null)
            {
                optimizer.Step(model, lr);
            }

            progress.TokensSeen += count;
            progress.LastTrainLoss = loss;
            _interval.Add(lossSum, count, norm);
        }
        else
        {
            var reason = verdict == StepVerdict.NonFinite ? "non-finite" : "spike";
            var inARow = progress.Numerics.ConsecutiveSkips;
            NumericsLog.Skipped(logger, number, reason, progress.Epoch, data.Description, loss, norm, inARow);
            metrics.Skipped(number, progress.Epoch, reason, loss, norm, data.FromCursor, data.ToCursor, data.Description, inARow);
        }

        var perSecond = _interval.TokensPerSecond(time);
        observer?.OnStep(new StepReport(number, progress.Epoch, loss, lr, norm, count, perSecond, position, applied));
        if (number % training.LogEverySteps == 0)
        {
            metrics.Train(number, progress.Epoch, _interval.MeanLoss, lr, _interval.MeanNorm, perSecond, progress.TrainSecondsBefore + time.GetElapsedTime(started).TotalSeconds);
            _interval = new IntervalStats(time.GetTimestamp());
        }

        return new StepOutcome(number, verdict, rollBack);
    }

    /// <summary>True once <paramref name="step"/> steps reach <c>training.max-steps</c> (0: no limit).</summary>
    public bool LimitReached(long step) => training.MaxSteps > 0 && step >= training.MaxSteps;

    /// <summary>
    /// After a step: validation every <c>training.eval-every-steps</c>, a checkpoint every
    /// <c>checkpoint.every-steps</c> (not at an epoch's last step — the epoch end right after
    /// checkpoints that same step, validated — and not at the last step, which the finish writes),
    /// and the stop reason; returns the loop's new stop reason ("epochs" = go on).
    /// </summary>
    public async Task<string> AfterStepAsync(long number, CheckpointSettings checkpoint, bool endsEpoch, string stoppedBy, Func<bool> validate, Func<double?, Task> checkpointAsync, Func<double?> lastValidLoss)
    {
        var evaluated = false;
        if (training.EvalEverySteps > 0 && number % training.EvalEverySteps == 0)
        {
            await EnsureCurrentAsync(number).ConfigureAwait(false);
            if (validate())
            {
                stoppedBy = "early-stop";
            }

            evaluated = true;
        }

        var limitReached = LimitReached(number);
        // No periodic checkpoint after a bad step while rollbacks are on: the newest committed checkpoint
        // stays one from before the streak, which a rollback returns to.
        var inStreak = LastSkipped && training.Numerics.MaxConsecutiveSkips > 0;
        if (checkpoint.EverySteps > 0 && number % checkpoint.EverySteps == 0 && !limitReached && !endsEpoch && stoppedBy == "epochs" && !inStreak)
        {
            await EnsureCurrentAsync(number).ConfigureAwait(false);
            await checkpointAsync(evaluated ? lastValidLoss() : null).ConfigureAwait(false);
        }

        return limitReached && stoppedBy == "epochs" ? "max-steps" : stoppedBy;
    }
}
