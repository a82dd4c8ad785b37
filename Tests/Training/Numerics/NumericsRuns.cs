using System.Text.Json;
using Microsoft.Extensions.Logging;
using RnnCluster.Config;
using RnnCluster.Data;
using RnnCluster.Parallel;
using RnnCluster.Tests.Support;
using RnnCluster.Torch;
using RnnCluster.Training;

namespace RnnCluster.Tests.Training.Numerics;

/// <summary>
/// Runs over a made-up corpus whose data can be made bad at known windows: 4 streams x 100 rows of the
/// tokens a..h (ids 2-9) and a token x (id 10) placed where a test wants it. A test then poisons x in the
/// master's parameters — its embedding row NaN (every window that reads x has a NaN loss, as bad data
/// would; in every replica, since they compute from the master's parameters) or its decoder bias very low
/// (a window that must predict x has a huge but finite loss: a spike). With data.bptt = 10 and fixed
/// windows, step k trains rows [10(k-1), 10k) of every stream.
/// </summary>
internal static class NumericsRuns
{
    public const int Poison = 10;
    public const int Streams = 4;
    public const int Rows = 100;

    public static RnnClusterSettings Settings(int workers, params string[] extra) => ConfigLoader.Load(
        null,
        [
            "model.layers=1", "model.hidden-size=16", "model.embedding-size=16",
            "model.dropout.embedding=0", "model.dropout.between-layers=0", "model.dropout.output=0",
            "data.bptt=10", $"data.batch-size={Streams}", "data.eval-batch-size=4", "runtime.threads=1",
            "training.optimizer=sgd", "training.learning-rate=1", "training.clip-norm=0.5", "training.epochs=1",
            "training.log-every-steps=1", "checkpoint.every-steps=0", $"parallel.workers={workers}", .. extra,
        ]);

    /// <summary>The corpus, with x as the input at each (stream, row) of <paramref name="poisonedInputs"/>; <paramref name="poisonValid"/> puts x in the validation split too.</summary>
    public static Corpus Corpus(IEnumerable<(int Stream, int Row)> poisonedInputs, bool poisonValid = false)
    {
        var train = Sequence(Streams * Rows, seed: 1);
        foreach (var (stream, row) in poisonedInputs)
        {
            train[(stream * Rows) + row] = Poison;
        }

        var valid = Sequence(80, seed: 2);
        if (poisonValid)
        {
            valid[17] = Poison;
        }

        var vocabulary = Vocabulary.FromTokens(["<unk>", "<eos>", "a", "b", "c", "d", "e", "f", "g", "h", "x"]);
        return new Corpus(vocabulary, CorpusTask.LanguageModel, Split(train), Split(valid), Split(Sequence(80, seed: 3)), "numerics-test", 0);
    }

    /// <summary>Sets x's embedding row to NaN.</summary>
    public static void NaNEmbedding(TorchModel model) => Fill(model, "encoder.weight", Poison, float.NaN);

    /// <summary>Sets x's decoder bias so low that predicting x costs about 10^4 nats.</summary>
    public static void SpikingBias(TorchModel model) => Fill(model, "decoder.bias", Poison, -1e4f);

    /// <param name="afterStep">Called on the training thread after each step's report (a test's fault).</param>
    public static async Task<NumericsOutcome> RunAsync(RnnClusterSettings settings, Corpus corpus, string runDirectory, Action<TorchModel> poison, Action<long>? afterStep = null)
    {
        var logs = new CapturingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Information));
        var observer = new ParameterRecorder { AfterStep = afterStep };
        var services = new TrainerServices(TimeProvider.System, loggerFactory, observer)
        {
            PrepareMaster = model =>
            {
                poison(model);
                observer.Master = model;
            },
        };
        RunSummary summary;
        if (settings.Parallel.Workers == 0)
        {
            using var trainer = new LanguageModelTrainer(settings, corpus, runDirectory, services);
            summary = await trainer.RunAsync(CancellationToken.None);
        }
        else
        {
            summary = await new ParallelTrainer(settings, corpus, runDirectory, services).RunAsync(CancellationToken.None);
        }

        var metrics = (await File.ReadAllLinesAsync(Path.Combine(runDirectory, "metrics.jsonl"))).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToArray();
        return new NumericsOutcome(summary, observer, logs.Entries, metrics);
    }

    private static void Fill(TorchModel model, string name, int row, float value)
    {
        var slice = model.Layout.Single(s => s.Name == name);
        var width = (int)(slice.Count / slice.Shape[0]);
        model.ParameterSpan.Slice((int)slice.Offset + (row * width), width).Fill(value);
    }

    private static int[] Sequence(int length, int seed)
    {
        // A little structure to learn: mostly the next letter, now and then a jump.
        var ids = new int[length + 1];
        var state = (uint)seed;
        var current = 0;
        for (var i = 0; i < ids.Length; i++)
        {
            state = (state * 1664525) + 1013904223;
            current = (state >> 28) < 3 ? (int)(state >> 29) : (current + 1) % 8;
            ids[i] = 2 + current;
        }

        return ids;
    }

    private static TokenSplit Split(int[] ids) => new(ids[..^1], ids[1..]);
}

internal sealed record NumericsOutcome(RunSummary Summary, ParameterRecorder Steps, IReadOnlyList<CapturedLog> Logs, JsonElement[] Metrics)
{
    public JsonElement[] Lines(string kind) => [.. Metrics.Where(m => m.GetProperty("kind").GetString() == kind)];

    public CapturedLog[] Events(int id) => [.. Logs.Where(l => l.EventId.Id == id)];
}

/// <summary>Keeps every step's report and the master's parameters right after it (observers run on the training thread).</summary>
internal sealed class ParameterRecorder : ITrainingObserver
{
    public TorchModel? Master { get; set; }

    public Action<long>? AfterStep { get; init; }

    public Dictionary<long, StepReport> Reports { get; } = [];

    public Dictionary<long, float[]> ParametersAfter { get; } = [];

    public void OnStart(TrainingStart start)
    {
    }

    public void OnStep(StepReport step)
    {
        ArgumentNullException.ThrowIfNull(step);
        Reports[step.Step] = step;
        ParametersAfter[step.Step] = Master!.ParameterSpan.ToArray();
        AfterStep?.Invoke(step.Step);
    }

    public void OnEvaluation(EvaluationReport evaluation)
    {
    }

    public void OnCheckpoint(string directory, long step, bool isBest)
    {
    }
}
