using Microsoft.Extensions.Logging;
using RnnCluster.Training.Numerics;

namespace RnnCluster.Training;

/// <summary>Mutable counters of the loop (what a checkpoint's TrainerState is made from).</summary>
internal sealed class TrainerProgress
{
    public long Step { get; set; }

    public int Epoch { get; set; }

    public long Cursor { get; set; }

    public long TokensSeen { get; set; }

    public long TokensAtStart { get; set; }

    public double PlateauRate { get; set; }

    public double? BestValidLoss { get; set; }

    public int EvaluationsWithoutImprovement { get; set; }

    public double LastTrainLoss { get; set; } = double.NaN;

    public double? LastValidLoss => LastValid?.Loss;

    public EvaluationResult? LastValid { get; set; }

    public long LastValidStep { get; set; } = -1;

    public double TrainSecondsBefore { get; set; }

    /// <summary>The numerical policy's memory: spike window, bad steps in a row, skipped ranges.</summary>
    public NumericsHistory Numerics { get; set; } = new();

    /// <summary>
    /// Records a validation: best loss, plateau decay, patience, the metrics line and the observer's
    /// report. True when patience ran out (the run stops early). A NaN or infinite loss is reported as it
    /// is but never becomes the best, never decays the rate and never counts towards patience: nothing
    /// compares below NaN, so one would otherwise turn every later evaluation into "no improvement".
    /// </summary>
    public bool RecordValidation(EvaluationResult result, LearningRateSchedule schedule, int patience, ILogger logger, MetricsLog? metrics, ITrainingObserver? observer)
    {
        ArgumentNullException.ThrowIfNull(result);
        var finite = double.IsFinite(result.Loss);
        var improved = finite && (BestValidLoss is not { } best || result.Loss < best);
        if (!finite)
        {
            NumericsLog.NonFiniteValidation(logger, Step, result.Loss);
        }
        else if (improved)
        {
            BestValidLoss = result.Loss;
            EvaluationsWithoutImprovement = 0;
        }
        else
        {
            EvaluationsWithoutImprovement++;
            var before = PlateauRate;
            PlateauRate = schedule.AfterEvaluation(before, improved: false);
            if (PlateauRate != before)
            {
                TrainingLog.PlateauDecay(logger, before, PlateauRate, Step);
            }
        }

        LastValid = result;
        LastValidStep = Step;
        var report = new EvaluationReport(Step, Epoch, "valid", result, improved);
        metrics?.Evaluation(report);
        observer?.OnEvaluation(report);
        if (finite && patience > 0 && EvaluationsWithoutImprovement >= patience)
        {
            TrainingLog.EarlyStop(logger, Step, EvaluationsWithoutImprovement);
            return true;
        }

        return false;
    }

    /// <summary>The counters of a checkpoint's trainer state, as a resumed run continues them.</summary>
    public static TrainerProgress FromState(TrainerState s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return new TrainerProgress
        {
            Step = s.Step,
            Epoch = s.Epoch,
            Cursor = s.Cursor,
            TokensSeen = s.TokensSeen,
            TokensAtStart = s.TokensSeen,
            PlateauRate = s.PlateauLearningRate,
            BestValidLoss = s.BestValidLoss,
            EvaluationsWithoutImprovement = s.EvaluationsWithoutImprovement,
            TrainSecondsBefore = s.TrainSeconds,
            Numerics = NumericsHistory.From(s),
            // The spike window's newest loss is the last applied step's: a resume that trains nothing more
            // (stopped at once, or at max-steps already) still reports the run's train loss, not NaN.
            LastTrainLoss = s.RecentLosses is [.., var last] ? last : double.NaN,
        };
    }

    /// <summary>The trainer state of a checkpoint taken now; the loop adds what only it knows (generators, stream states).</summary>
    public TrainerState ToState(LearningRateSchedule schedule, IReadOnlyList<ulong> dataRandomState, byte[] modelRandomState, double sessionSeconds, byte[]? streamState = null) => new()
    {
        Step = Step,
        Epoch = Epoch,
        Cursor = Cursor,
        TokensSeen = TokensSeen,
        LearningRate = schedule.RateAt(Step + 1, PlateauRate),
        PlateauLearningRate = PlateauRate,
        BestValidLoss = BestValidLoss,
        EvaluationsWithoutImprovement = EvaluationsWithoutImprovement,
        DataRandomState = dataRandomState,
        ModelRandomState = Convert.ToBase64String(modelRandomState),
        StreamState = streamState,
        TrainSeconds = TrainSecondsBefore + sessionSeconds,
        ConsecutiveSkips = Numerics.ConsecutiveSkips,
        RecentLosses = [.. Numerics.RecentLosses],
        SkippedRanges = Numerics.SkippedRanges.Count == 0 ? null : [.. Numerics.SkippedRanges],
    };
}
