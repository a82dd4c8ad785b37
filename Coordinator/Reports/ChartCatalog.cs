namespace RnnCluster.Coordinator.Reports;

/// <summary>
/// The charts of a report, from the runs' metrics: loss (train and validation, with test points and
/// event markers), learning rate, tokens per second and gradient norm, all against the step. Points a
/// chart cannot draw (NaN, infinity, and values ≤ 0 on a log scale) are left out here, so a diverged
/// step leaves a gap rather than a broken axis.
/// </summary>
public static class ChartCatalog
{
    public const string Loss = "loss";
    public const string LearningRate = "learning-rate";
    public const string TokensPerSecond = "tokens-per-second";
    public const string GradientNorm = "grad-norm";

    public static IReadOnlyList<string> FileNames { get; } = [Loss, LearningRate, TokensPerSecond, GradientNorm];

    /// <summary>One run's charts: its train and validation curves in separate colours, its events as markers.</summary>
    public static IReadOnlyList<ChartSpec> ForRun(ReportRun run, bool logLoss)
    {
        ArgumentNullException.ThrowIfNull(run);
        var m = run.Metrics;
        var markers = m.Events.Where(e => e.Step is not null).Select(e => new ChartMarker(e.Step!.Value, e.Kind)).ToList();
        return
        [
            new(Loss, $"Loss: {run.Label}", "loss (nats per token)", logLoss,
            [
                Series("train loss", m.Train, p => p.Step, p => p.Loss, SeriesStyle.Line, 0, logLoss),
                Series("valid loss", m.Valid, p => p.Step, p => p.Loss, SeriesStyle.LineWithPoints, 1, logLoss),
                Series("test loss", m.Test, p => p.Step, p => p.Loss, SeriesStyle.Points, 2, logLoss),
            ], markers),
            new(LearningRate, $"Learning rate: {run.Label}", "learning rate", false, [Series("learning rate", m.Train, p => p.Step, p => p.LearningRate, SeriesStyle.Line, 0, false)], markers),
            new(TokensPerSecond, $"Tokens per second: {run.Label}", "tokens/s", false, [Series("tokens/s", m.Train, p => p.Step, p => p.TokensPerSecond, SeriesStyle.Line, 0, false)], markers),
            new(GradientNorm, $"Gradient norm: {run.Label}", "gradient norm (before clipping)", false, [Series("gradient norm", m.Train, p => p.Step, p => p.GradientNorm, SeriesStyle.Line, 0, false)], markers),
        ];
    }

    /// <summary>Several runs on one chart per curve, each run one colour and labelled by its directory's name.</summary>
    public static IReadOnlyList<ChartSpec> ForComparison(IReadOnlyList<ReportRun> runs, bool logLoss)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var loss = runs.SelectMany((r, i) => new[]
        {
            Series($"{r.Label} (train)", r.Metrics.Train, p => p.Step, p => p.Loss, SeriesStyle.Line, i, logLoss),
            Series($"{r.Label} (valid)", r.Metrics.Valid, p => p.Step, p => p.Loss, SeriesStyle.ThinWithOpenPoints, i, logLoss),
        }).Where(s => s.Values.Count > 0).ToList();
        return
        [
            new(Loss, "Loss", "loss (nats per token)", logLoss, loss, []),
            new(LearningRate, "Learning rate", "learning rate", false, PerRun(runs, p => p.LearningRate), []),
            new(TokensPerSecond, "Tokens per second", "tokens/s", false, PerRun(runs, p => p.TokensPerSecond), []),
            new(GradientNorm, "Gradient norm", "gradient norm (before clipping)", false, PerRun(runs, p => p.GradientNorm), []),
        ];
    }

    private static List<ChartSeries> PerRun(IReadOnlyList<ReportRun> runs, Func<TrainPoint, double> value) =>
        [.. runs.Select((r, i) => Series(r.Label, r.Metrics.Train, p => p.Step, value, SeriesStyle.Line, i, false))];

    private static ChartSeries Series<T>(string label, IReadOnlyList<T> points, Func<T, long> step, Func<T, double> value, SeriesStyle style, int colour, bool logScale)
    {
        var kept = points.Where(p => double.IsFinite(value(p)) && (!logScale || value(p) > 0)).ToList();
        return new ChartSeries(label, [.. kept.Select(p => (double)step(p))], [.. kept.Select(value)], style, colour);
    }
}
