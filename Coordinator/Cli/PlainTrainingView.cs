using System.Globalization;
using RnnCluster.Training;

namespace RnnCluster.Coordinator.Cli;

/// <summary>One line per log interval, evaluation and checkpoint: what CI logs and pipes should see; the start line names the dashboard when one is served.</summary>
internal sealed class PlainTrainingView(TextWriter output, int logEvery, Uri? dashboard = null) : ITrainingView
{
    private long _totalSteps;

    public Task<RunSummary> RunAsync(Func<Task<RunSummary>> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return run();
    }

    public void OnStart(TrainingStart start)
    {
        ArgumentNullException.ThrowIfNull(start);
        _totalSteps = start.TotalSteps;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"training {start.ParameterCount:N0} parameters on {start.Device} ({start.Threads} threads): vocabulary {start.VocabularySize}, {start.DataLayout}, {start.StepsPerEpoch} steps/epoch, {start.TotalSteps} steps planned") + (start.FirstStep > 0 ? $", resuming after step {start.FirstStep}" : string.Empty) + (dashboard is null ? string.Empty : $"; dashboard {dashboard}"));
    }

    public void OnStep(StepReport step)
    {
        ArgumentNullException.ThrowIfNull(step);
        if (step.Step % logEvery == 0 || step.Step == _totalSteps)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {step.Step}/{_totalSteps} epoch {step.Epoch + 1} loss {step.Loss:F4} ppl {Math.Exp(step.Loss):F2} lr {step.LearningRate:G4} grad-norm {step.GradientNorm:F3} {step.TokensPerSecond:F0} tokens/s"));
        }
    }

    public void OnEvaluation(EvaluationReport evaluation)
    {
        ArgumentNullException.ThrowIfNull(evaluation);
        var r = evaluation.Result;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{evaluation.Split} after step {evaluation.Step}: loss {r.Loss:F4} ppl {r.Perplexity:F2} bits/token {r.BitsPerToken:F3} accuracy {r.Accuracy:P2}") + (evaluation.Improved ? " (best so far)" : string.Empty));
    }

    public void OnCheckpoint(string directory, long step, bool isBest) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"checkpoint step {step} committed: {directory}") + (isBest ? " (best)" : string.Empty));

    public void OnCheckpointFailed(long step, string directory, string error) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"checkpoint step {step} FAILED in {directory}: {error}"));
}
