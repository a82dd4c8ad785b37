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

    /// <summary>Starts the first metrics interval (with the loop's Start).</summary>
    public void Start() => _interval = new IntervalStats(time.GetTimestamp());

    /// <summary>Applies the step; returns its number. <paramref name="position"/> is the share of the epoch done, for the observer.</summary>
    public long Apply(TrainerProgress progress, MetricsLog metrics, long started, double lossSum, long count, double learningRateScale, double position)
    {
        var norm = model.ScaleAndClipGradients(1.0 / count, training.ClipNorm);
        var number = progress.Step + 1;
        var lr = schedule.RateAt(number, progress.PlateauRate) * learningRateScale;
        var applied = double.IsFinite(norm);
        if (applied)
        {
            optimizer.Step(model, lr);
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
            if (validate())
            {
                stoppedBy = "early-stop";
            }

            evaluated = true;
        }

        var limitReached = training.MaxSteps > 0 && number >= training.MaxSteps;
        if (checkpoint.EverySteps > 0 && number % checkpoint.EverySteps == 0 && !limitReached && !endsEpoch && stoppedBy == "epochs")
        {
            await checkpointAsync(evaluated ? lastValidLoss() : null).ConfigureAwait(false);
        }

        return limitReached && stoppedBy == "epochs" ? "max-steps" : stoppedBy;
    }
}
