using Microsoft.Extensions.Logging;
using RnnCluster.Config;
using RnnCluster.Data;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Tests.Support;
using RnnCluster.Training;
using RnnCluster.Parallel;
using RnnCluster.Training.Parallel;

namespace RnnCluster.Tests.Parallel;

/// <summary>Small runs of the single-replica and data-parallel trainers on builtin:agreement, dropout off.</summary>
internal static class ParallelRuns
{
    public static RnnClusterSettings Settings(int workers, params string[] extra) => ConfigLoader.Load(
        null,
        [
            "model.layers=1", "model.hidden-size=16", "model.embedding-size=16",
            "model.dropout.embedding=0", "model.dropout.between-layers=0", "model.dropout.output=0",
            "data.builtin.sentences=300", "data.bptt=10", "data.batch-size=8", "runtime.threads=1",
            "training.optimizer=sgd", "training.learning-rate=1", "training.clip-norm=0.5", "training.max-steps=20",
            "checkpoint.every-steps=0", $"parallel.workers={workers}", .. extra,
        ]);

    public static async Task<RunOutcome> RunAsync(RnnClusterSettings settings, string runDirectory, WorkerFaults? faults = null, long? coordinatorFailsBeforeStep = null, CapturingLoggerProvider? logs = null)
    {
        var corpus = CorpusLoader.Load(settings.Data.Path, TrainingSetup.Corpus(settings.Data));
        logs ??= new CapturingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Information));
        var services = new TrainerServices(TimeProvider.System, loggerFactory);
        RunSummary summary;
        if (settings.Parallel.Workers == 0)
        {
            using var trainer = new LanguageModelTrainer(settings, corpus, runDirectory, services);
            summary = await trainer.RunAsync(CancellationToken.None);
        }
        else
        {
            var trainer = new ParallelTrainer(settings, corpus, runDirectory, services) { WorkerFaults = faults, CoordinatorFailsBeforeStep = coordinatorFailsBeforeStep };
            summary = await trainer.RunAsync(CancellationToken.None);
        }

        var parameters = CheckpointReader.Load(runDirectory).ModelTensors.SelectMany(t => t.ToFloats()).ToArray();
        var epochTokens = BatchedStreams.Batchify(corpus.Train, settings.Data.BatchSize) is var b ? b.CountTargets(0, b.Length, 0, b.StreamCount) : 0;
        return new RunOutcome(summary, parameters, logs.Entries, epochTokens);
    }

    /// <summary>‖a − b‖ / ‖b‖ over two parameter vectors.</summary>
    public static double RelativeDifference(float[] a, float[] b)
    {
        Assert.Equal(b.Length, a.Length);
        double diff = 0, norm = 0;
        for (var i = 0; i < a.Length; i++)
        {
            diff += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
            norm += (double)b[i] * b[i];
        }

        return Math.Sqrt(diff / norm);
    }
}

internal sealed record RunOutcome(RunSummary Summary, float[] Parameters, IReadOnlyList<CapturedLog> Logs, long EpochTokens)
{
    public int Count(int eventId) => Logs.Count(l => l.EventId.Id == eventId);
}
