using System.Text;
using RnnCluster.Training;

namespace RnnCluster.Tests.Reports;

/// <summary>
/// A run directory written by the trainer's own writers (MetricsLog, RunSummary) from scripted figures,
/// so the report reads exactly the format a real run leaves.
/// </summary>
internal static class ScriptedRun
{
    /// <summary>40 train lines (loss falling from 5 towards 2, a NaN at step 17), 4 valid lines, a test line; the summary's valid loss is the last valid line's.</summary>
    public static RunSummary Write(string directory, bool summary = true, IEnumerable<string>? extraLines = null)
    {
        Directory.CreateDirectory(directory);
        var metrics = Path.Combine(directory, "metrics.jsonl");
        using (var log = new MetricsLog(metrics, append: false))
        {
            for (var step = 1; step <= 40; step++)
            {
                var loss = step == 17 ? double.NaN : 2 + (3 * Math.Exp(-step / 10.0));
                log.Train(step, step / 20, loss, 0.5 / step, 1 + (0.1 * step), 1000 + (10 * step), step * 0.25);
                if (step % 10 == 0)
                {
                    log.Evaluation(new EvaluationReport(step, step / 20, "valid", new EvaluationResult(LossSum: 100 * ValidLoss(step), Tokens: 100, Correct: 30 + step), Improved: true));
                }
            }

            log.Evaluation(new EvaluationReport(40, 2, "test", new EvaluationResult(LossSum: 100 * 2.4, Tokens: 100, Correct: 66), Improved: false));
        }

        if (extraLines is not null)
        {
            File.AppendAllLines(metrics, extraLines, new UTF8Encoding(false));
        }

        var figures = new RunSummary
        {
            Corpus = "builtin:scripted",
            Task = "language-model",
            Steps = 40,
            Epochs = 2,
            TokensTrained = 40 * 80,
            TrainLoss = 2.0549,
            ValidLoss = ValidLoss(40),
            ValidPerplexity = Math.Exp(ValidLoss(40)),
            ValidBitsPerToken = ValidLoss(40) / Math.Log(2),
            ValidAccuracy = 0.7,
            TestLoss = 2.4,
            TokensPerSecond = 1205.5,
            WallSeconds = 10.25,
            StoppedBy = "max-steps",
        };
        if (summary)
        {
            File.WriteAllText(Path.Combine(directory, "summary.json"), figures.ToJson(), new UTF8Encoding(false));
        }

        return figures;
    }

    /// <summary>A value with many digits, so "as printed in summary.json" is a real check of the exact figure.</summary>
    public static double ValidLoss(int step) => 2.2 + (1.0 / (step + 3));
}
