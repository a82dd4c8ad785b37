using Microsoft.Extensions.Logging;
using RnnCluster.Config;
using RnnCluster.Torch;

namespace RnnCluster.Training;

/// <summary>
/// What every training loop does with a step once the gradient SUM over its targets is in the master's
/// gradient buffer — whoever computed it, and whatever a step is (an LM window, a task batch): average
/// and clip in one pass, step the optimizer (a non-finite norm skips the update and is logged), count
/// it, report it (observer, and metrics.jsonl every <c>training.log-every-steps</c>), then validate,
/// checkpoint and stop as configured. The loops keep what differs: their data, cursor and state.
/// </summary>
internal sealed class StepApplier(TorchModel model, Optimizer optimizer, LearningRateSchedule schedule, TrainingSettings training, TimeProvider time, ILogger logger, ITrainingObserver? observer)
{
    private IntervalStats _interval = new(0);
    private long _currentAt = -1;

    /// <summary>
    /// Set when the replicas hold the parameters and step themselves (a cluster whose workers all-reduce):
    /// <see cref="Apply"/> then counts and reports the step with the norm they computed and leaves the
    /// master alone, and the master is brought up to date from a replica only when something reads it.
    /// </summary>
    public RemoteReplicas? Remote { get; private set; }

    /// <summary>The learning rate of the last applied step (what the replicas step with).</summary>
    public double LastLearningRate { get; private set; }

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

    /// <summary>Applies the step; returns its number. <paramref name="position"/> is the share of the epoch done, for the observer.</summary>
    public long Apply(TrainerProgress progress, MetricsLog metrics, long started, double lossSum, long count, double learningRateScale, double position)
    {
        // Remote replicas averaged, clipped and measured the same gradient (the same bytes as this would).
        var norm = Remote is { } remote ? remote.Norm : model.ScaleAndClipGradients(1.0 / count, training.ClipNorm);
        var number = progress.Step + 1;
        var lr = schedule.RateAt(number, progress.PlateauRate) * learningRateScale;
        LastLearningRate = lr;
        var applied = double.IsFinite(norm);
        if (applied)
        {
            // Remote replicas step themselves when the commit reaches them.
            if (Remote is null)
            {
                optimizer.Step(model, lr);
            }
        }
        else
        {
            TrainingLog.NonFiniteGradient(logger, number, norm);
        }

        progress.Step = number;
        progress.TokensSeen += count;
        progress.LastTrainLoss = lossSum / count;
        _interval.Add(lossSum, count, norm);
        var perSecond = _interval.TokensPerSecond(time);
        observer?.OnStep(new StepReport(number, progress.Epoch, lossSum / count, lr, norm, count, perSecond, position, applied));
        if (number % training.LogEverySteps == 0)
        {
            metrics.Train(number, progress.Epoch, _interval.MeanLoss, lr, _interval.MeanNorm, perSecond, progress.TrainSecondsBefore + time.GetElapsedTime(started).TotalSeconds);
            _interval = new IntervalStats(time.GetTimestamp());
        }

        return number;
    }

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

        var limitReached = training.MaxSteps > 0 && number >= training.MaxSteps;
        if (checkpoint.EverySteps > 0 && number % checkpoint.EverySteps == 0 && !limitReached && !endsEpoch && stoppedBy == "epochs")
        {
            await EnsureCurrentAsync(number).ConfigureAwait(false);
            await checkpointAsync(evaluated ? lastValidLoss() : null).ConfigureAwait(false);
        }

        return limitReached && stoppedBy == "epochs" ? "max-steps" : stoppedBy;
    }
}
