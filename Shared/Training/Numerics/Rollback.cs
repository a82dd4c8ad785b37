using Microsoft.Extensions.Logging;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Torch;

namespace RnnCluster.Training.Numerics;

/// <summary>
/// <c>training.numerics.max-consecutive-skips</c> bad steps in a row: the parameters, optimizer state and
/// validation bookkeeping go back to the newest committed checkpoint, reloaded into the running loop, and
/// the data from that checkpoint's cursor to the end of the failing step is skipped — the loop's cursor
/// stays past it — and recorded (<see cref="SkippedRange"/>) in every later checkpoint. The step counter
/// and the data order's and dropout's generators go on: step numbers never repeat, so a cluster's
/// replicas and commits stay in order, and the schedule follows the planned run.
/// </summary>
internal static class Rollback
{
    /// <summary>Rolls <paramref name="progress"/> back; the range it skips, or null when no checkpoint was committed yet (the run skips on).</summary>
    public static async Task<SkippedRange?> ToNewestCheckpointAsync(
        CheckpointPipeline checkpoints, TorchModel model, Optimizer optimizer, Action<LoadedCheckpoint> ensureCompatible,
        TrainerProgress progress, StepVerdict verdict, StepApplier steps, ILogger logger, MetricsLog? metrics)
    {
        var inARow = progress.Numerics.ConsecutiveSkips;
        progress.Numerics.ConsecutiveSkips = 0;
        await checkpoints.DrainAsync().ConfigureAwait(false);
        if (checkpoints.LastCheckpoint is not { } directory)
        {
            NumericsLog.NothingToRollBackTo(logger, inARow, progress.Step);
            return null;
        }

        if (Verified(directory, logger) is not { } loaded)
        {
            NumericsLog.NothingToRollBackTo(logger, inARow, progress.Step);
            return null;
        }

        ensureCompatible(loaded);
        ModelTensors.ImportModel(model, loaded.ModelTensors, Path.Combine(loaded.Directory, "model.safetensors"));
        ModelTensors.ImportOptimizer(optimizer, loaded.OptimizerTensors, Path.Combine(loaded.Directory, "optimizer.safetensors"));
        var s = loaded.TrainerState;
        var reason = verdict == StepVerdict.NonFinite ? "non-finite" : "spike";
        // A checkpoint of an earlier epoch: this epoch's windows before the failing one were trained on
        // by steps now undone, so the range starts at the epoch's beginning.
        var range = new SkippedRange(s.Step + 1, progress.Step, progress.Epoch, s.Epoch == progress.Epoch ? s.Cursor : 0, progress.Cursor, reason);
        progress.Numerics.AddRange(range);
        progress.Numerics.ResetLosses(s.RecentLosses);
        progress.TokensAtStart -= progress.TokensSeen - s.TokensSeen;
        progress.TokensSeen = s.TokensSeen;
        progress.PlateauRate = s.PlateauLearningRate;
        progress.BestValidLoss = s.BestValidLoss;
        progress.EvaluationsWithoutImprovement = s.EvaluationsWithoutImprovement;
        // With remote replicas the master is the run now; the coordinator seeds them from it.
        steps.MarkCurrent(progress.Step);
        NumericsLog.RolledBack(logger, loaded.Directory, s.Step, inARow, progress.Step, range.Epoch, range.FromCursor, range.ToCursor, reason);
        metrics?.RolledBack(progress.Step, s.Step, range.Epoch, range.FromCursor, range.ToCursor, reason);
        return range;
    }

    /// <summary>
    /// The newest checkpoint that verifies: the run's last one, or, when it was damaged on disk since it was
    /// written, the newest older one that verifies (each damaged one named in the log); null when none does.
    /// </summary>
    private static LoadedCheckpoint? Verified(string directory, ILogger logger)
    {
        try
        {
            return CheckpointReader.Load(directory);
        }
        catch (CheckpointException)
        {
            // Damaged since it was written: the search below names it (once) and goes further back.
        }

        // <run>/checkpoints/step-N: the run directory is two levels up.
        var runDirectory = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(directory)))!;
        try
        {
            return CheckpointReader.FindNewestValid(runDirectory, reason => NumericsLog.RollbackCheckpointDamaged(logger, reason)) is { } older
                ? CheckpointReader.Load(older)
                : null;
        }
        catch (CheckpointException none)
        {
            // None verifies: nothing to roll back to (the message names every damaged file).
            NumericsLog.RollbackCheckpointDamaged(logger, none.Message);
            return null;
        }
    }
}
