using Microsoft.Extensions.Logging;
using RnnCluster.Config;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Tests.Support;
using RnnCluster.Training;
using RnnCluster.Parallel;
using RnnCluster.Training.Parallel;
using RnnCluster.Training.Tasks;

namespace RnnCluster.Tests.Training.Tasks;

/// <summary>Small task runs on the builtin tasks: tiny bidirectional models, Adam, dropout off.</summary>
internal static class TaskRuns
{
    public static RnnClusterSettings Settings(string data, int workers, params string[] extra) => ConfigLoader.Load(null, Overrides(data, workers, extra));

    /// <summary>A builtin task's preset and the defaults, nothing else (two worker actors by default).</summary>
    public static RnnClusterSettings Preset(string data) => ConfigLoader.LoadWithPreset(null, [$"data.path=\"{data}\""]).Settings;

    /// <summary>The settings as <c>--set</c> overrides (for runs in other processes).</summary>
    public static string[] Overrides(string data, int workers, params string[] extra) =>
        [
            $"data.path=\"{data}\"", "model.layers=1", "model.hidden-size=32", "model.embedding-size=32", "model.bidirectional=true",
            "model.dropout.embedding=0", "model.dropout.between-layers=0", "model.dropout.output=0",
            "data.builtin.sentences=2000", "data.batch-size=32", "data.eval-batch-size=100", "runtime.threads=1",
            "training.optimizer=adam", "training.learning-rate=0.01", "training.clip-norm=1", "training.schedule=constant",
            "training.epochs=3", "training.log-every-steps=20", "checkpoint.every-steps=0", $"parallel.workers={workers}", .. extra,
        ];

    public static async Task<TaskRunOutcome> RunAsync(RnnClusterSettings settings, string runDirectory, string? resumeFrom = null)
    {
        var data = TaskSetup.Load(settings.Data, TaskSetup.ResolveKind(settings.Data));
        var logs = new CapturingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Information));
        var services = new TrainerServices(TimeProvider.System, loggerFactory);
        RunSummary summary;
        if (settings.Parallel.Workers == 0)
        {
            using var trainer = new TaskTrainer(settings, data, runDirectory, services, resumeFrom);
            summary = await trainer.RunAsync(CancellationToken.None);
        }
        else
        {
            summary = await new ParallelTrainer(settings, data, runDirectory, services, resumeFrom).RunAsync(CancellationToken.None);
        }

        var parameters = CheckpointReader.Load(runDirectory).ModelTensors.SelectMany(t => t.ToFloats()).ToArray();
        return new TaskRunOutcome(summary, parameters);
    }
}

internal sealed record TaskRunOutcome(RunSummary Summary, float[] Parameters);
