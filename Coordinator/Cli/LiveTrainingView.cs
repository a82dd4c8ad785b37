using System.Globalization;
using RnnCluster.Training;
using Spectre.Console;

namespace RnnCluster.Coordinator.Cli;

/// <summary>Spectre.Console progress bar with step, epoch, loss, perplexity, tokens/s and ETA (and the dashboard's address when one is served); evaluations print above it.</summary>
internal sealed class LiveTrainingView : ITrainingView
{
    private readonly IAnsiConsole _console;
    private ProgressTask? _task;
    private readonly string _dashboard;
    private TrainingStart? _start;

    public LiveTrainingView(TextWriter output, Uri? dashboard = null)
    {
        _console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
        _dashboard = dashboard is null ? string.Empty : $" | {dashboard}";
    }

    public async Task<RunSummary> RunAsync(Func<Task<RunSummary>> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        RunSummary? summary = null;
        await _console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                _task = context.AddTask("starting", maxValue: 1);
                // The trainer runs on a pool thread so the display keeps refreshing between steps.
                summary = await Task.Run(run).ConfigureAwait(false);
                if (summary.StoppedBy != "interrupted")
                {
                    _task.Value = _task.MaxValue; // early stop and max-steps end before the planned last step
                }

                _task.StopTask();
            }).ConfigureAwait(false);
        return summary!;
    }

    public void OnStart(TrainingStart start)
    {
        ArgumentNullException.ThrowIfNull(start);
        _start = start;
        if (_task is not null)
        {
            _task.MaxValue = Math.Max(1, start.TotalSteps);
            _task.Value = start.FirstStep;
        }

        _console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"training {start.ParameterCount:N0} parameters on {start.Device} ({start.Threads} threads): vocabulary {start.VocabularySize}, {start.DataLayout}, {start.StepsPerEpoch} steps/epoch")));
    }

    public void OnStep(StepReport step)
    {
        ArgumentNullException.ThrowIfNull(step);
        if (_task is null || _start is null)
        {
            return;
        }

        _task.Value = step.Step;
        _task.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"epoch {step.Epoch + 1}/{_start.Epochs} step {step.Step}/{_start.TotalSteps} loss {step.Loss:F3} ppl {Math.Exp(step.Loss):F1} {step.TokensPerSecond:N0} tok/s{_dashboard}"));
    }

    public void OnEvaluation(EvaluationReport evaluation)
    {
        ArgumentNullException.ThrowIfNull(evaluation);
        var r = evaluation.Result;
        _console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{evaluation.Split} after step {evaluation.Step}: loss {r.Loss:F4} ppl {r.Perplexity:F2} bits/token {r.BitsPerToken:F3} accuracy {r.Accuracy:P2}")) + (evaluation.Improved ? " [green](best so far)[/]" : string.Empty));
    }

    public void OnCheckpoint(string directory, long step, bool isBest) =>
        _console.MarkupLine(Markup.Escape($"checkpoint step {step}: {directory}") + (isBest ? " [green](best)[/]" : string.Empty));

    public void OnCheckpointFailed(long step, string directory, string error) =>
        _console.MarkupLine("[red]" + Markup.Escape($"checkpoint step {step} FAILED in {directory}: {error}") + "[/]");
}
