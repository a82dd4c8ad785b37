using RnnCluster.Config;

namespace RnnCluster.Training;

/// <summary>
/// Learning rate per step. Warm-up (linear from base/warmup to base) applies to every schedule;
/// after it, <c>constant</c> keeps the plateau rate, <c>plateau</c> divides it on a validation plateau
/// (word_language_model's "lr /= 4"), and <c>cosine</c> anneals from base to the minimum over the run.
/// Pure: the plateau rate is state the trainer owns and checkpoints.
/// </summary>
public sealed class LearningRateSchedule
{
    private readonly TrainingSettings _settings;
    private readonly long _totalSteps;

    public LearningRateSchedule(TrainingSettings settings, long totalSteps)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _totalSteps = Math.Max(1, totalSteps);
    }

    /// <summary>Rate for optimizer step <paramref name="step"/> (1-based) given the current plateau rate.</summary>
    public double RateAt(long step, double plateauRate)
    {
        var warmup = _settings.WarmupSteps;
        if (warmup > 0 && step <= warmup)
        {
            return plateauRate * step / warmup;
        }

        if (_settings.Schedule != ScheduleKind.Cosine)
        {
            return plateauRate;
        }

        var span = Math.Max(1, _totalSteps - warmup);
        var progress = Math.Clamp((double)(step - warmup) / span, 0.0, 1.0);
        var min = _settings.MinLearningRate;
        return min + ((_settings.LearningRate - min) * 0.5 * (1.0 + Math.Cos(Math.PI * progress)));
    }

    /// <summary>
    /// A decay smaller than this is not applied (PyTorch's ReduceLROnPlateau has the same guard), so a
    /// long run with <c>min-learning-rate = 0</c> settles near 1e-8 instead of decaying toward zero.
    /// </summary>
    public const double MinimumDecay = 1e-8;

    /// <summary>The plateau rate after an evaluation that did or did not improve the best validation loss.</summary>
    public double AfterEvaluation(double plateauRate, bool improved)
    {
        if (_settings.Schedule != ScheduleKind.Plateau || improved)
        {
            return plateauRate;
        }

        var decayed = Math.Max(_settings.MinLearningRate, plateauRate * _settings.PlateauFactor);
        return plateauRate - decayed > MinimumDecay ? decayed : plateauRate;
    }
}
