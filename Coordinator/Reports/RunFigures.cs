namespace RnnCluster.Coordinator.Reports;

/// <summary>
/// A run's headline figures: summary.json's when the run finished; otherwise the last lines of its
/// metrics.jsonl, so an interrupted or still-running run can be reported and compared too.
/// </summary>
public sealed record RunFigures
{
    public required bool FromSummary { get; init; }

    public required long Steps { get; init; }

    public double? TrainLoss { get; init; }

    public double? ValidLoss { get; init; }

    public double? ValidPerplexity { get; init; }

    public double? ValidBitsPerToken { get; init; }

    public double? ValidAccuracy { get; init; }

    public double? TestLoss { get; init; }

    public double? TestPerplexity { get; init; }

    public double? TestBitsPerToken { get; init; }

    public double? TestAccuracy { get; init; }

    public double? TokensPerSecond { get; init; }

    public double? WallSeconds { get; init; }

    public required string StoppedBy { get; init; }

    public static RunFigures Of(ReportRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (run.Summary is { } s)
        {
            return new RunFigures
            {
                FromSummary = true,
                Steps = s.Steps,
                TrainLoss = s.TrainLoss,
                ValidLoss = s.ValidLoss,
                ValidPerplexity = s.ValidPerplexity,
                ValidBitsPerToken = s.ValidBitsPerToken,
                ValidAccuracy = s.ValidAccuracy,
                TestLoss = s.TestLoss,
                TestPerplexity = s.TestPerplexity,
                TestBitsPerToken = s.TestBitsPerToken,
                TestAccuracy = s.TestAccuracy,
                TokensPerSecond = s.TokensPerSecond,
                WallSeconds = s.WallSeconds,
                StoppedBy = s.StoppedBy,
            };
        }

        var m = run.Metrics;
        var train = m.Train.Count > 0 ? m.Train[^1] : null;
        var valid = m.Valid.Count > 0 ? m.Valid[^1] : null;
        var test = m.Test.Count > 0 ? m.Test[^1] : null;
        var rates = m.Train.Select(p => p.TokensPerSecond).Where(double.IsFinite).ToList();
        return new RunFigures
        {
            FromSummary = false,
            Steps = new[] { train?.Step, valid?.Step, test?.Step }.Max() ?? 0,
            TrainLoss = train?.Loss,
            ValidLoss = valid?.Loss,
            ValidPerplexity = valid?.Perplexity,
            ValidBitsPerToken = valid?.BitsPerToken,
            ValidAccuracy = valid?.Accuracy,
            TestLoss = test?.Loss,
            TestPerplexity = test?.Perplexity,
            TestBitsPerToken = test?.BitsPerToken,
            TestAccuracy = test?.Accuracy,
            TokensPerSecond = rates.Count > 0 ? rates.Average() : null,
            WallSeconds = train is not null && double.IsFinite(train.ElapsedSeconds) ? train.ElapsedSeconds : null,
            StoppedBy = "not finished (no summary.json)",
        };
    }
}
