using System.Text.Json;
using Akka.Actor;
using Microsoft.Extensions.Logging;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Parallel.Cluster;
using RnnCluster.Tests.Support;
using RnnCluster.Tests.Training.Numerics;
using RnnCluster.Training;

namespace RnnCluster.Tests.Parallel.Cluster;

/// <summary>
/// The numerical policy on a cluster. Worker nodes that all-reduce: the coordinator decides from the reduced
/// loss and norm and its commit tells every replica to skip; a rollback reloads the master from the checkpoint
/// and seeds the replicas from it. Through the coordinator: a worker node refuses its first NaN and restarts,
/// the retry over the wire asks it to report one, and the NaN that comes back is the data's. Either way the
/// decisions and the end must be those of the single-replica trainer.
/// </summary>
[Collection(ClusterTrainingCollection.Name)]
public sealed class ClusterNumericsSpecs
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Theory]
    [InlineData("all-reduce")]
    [InlineData("coordinator")]
    public async Task Worker_nodes_skip_and_roll_back_as_one_replica_does_and_end_at_its_parameters(string exchange)
    {
        using var dir = new TempDirectory();
        string[] extra = ["checkpoint.every-steps=2", "training.numerics.max-consecutive-skips=2"];
        var corpus = NumericsRuns.Corpus([(1, 15), (0, 55), (3, 65), (2, 95)]);
        var single = await NumericsRuns.RunAsync(NumericsRuns.Settings(0, extra), corpus, dir.Combine("single"), NumericsRuns.NaNEmbedding);

        var settings = NumericsRuns.Settings(2, ["cluster.port=0", "cluster.min-workers=2", $"cluster.gradient-exchange={exchange}", .. extra]);
        using var logs = new CapturingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Information));
        using var stop = new CancellationTokenSource();
        var listening = new TaskCompletionSource<Address>(TaskCreationOptions.RunContinuationsAsynchronously);
        var services = new TrainerServices(TimeProvider.System, loggers) { PrepareMaster = NumericsRuns.NaNEmbedding };
        var trainer = new ClusterTrainer(settings, corpus, dir.Combine("cluster"), services) { OnListening = a => listening.TrySetResult(a) };
        var training = Task.Run(() => trainer.RunAsync(stop.Token));
        var address = await listening.Task.WaitAsync(Patience);
        var worker = settings with { Cluster = settings.Cluster with { Seeds = [$"{address.Host}:{address.Port}"], Port = 0 } };
        var workers = Enumerable.Range(0, 2).Select(_ => Task.Run(() => WorkerHost.RunAsync(worker, loggers, TimeProvider.System, null, CancellationToken.None))).ToArray();

        var summary = await training.WaitAsync(Patience);
        Assert.All(await Task.WhenAll(workers).WaitAsync(Patience), e => Assert.Equal(WorkerHost.ExitOk, e.Code));

        var metrics = (await File.ReadAllLinesAsync(dir.Combine("cluster", "metrics.jsonl"))).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToArray();
        Assert.Equal(Decisions(single.Metrics), Decisions(metrics));
        Assert.Equal(single.Summary.TokensTrained, summary.TokensTrained);
        var expected = CheckpointReader.Load(dir.Combine("single"));
        var actual = CheckpointReader.Load(dir.Combine("cluster"));
        Assert.Equal(expected.TrainerState.SkippedRanges, actual.TrainerState.SkippedRanges);
        var relative = ParallelRuns.RelativeDifference(Finite(actual), Finite(expected));
        Assert.True(relative <= 1e-5, $"relative parameter difference {relative:E2}");
        // Through the coordinator, the run's first NaN (step 2) fails its worker once; after that skip every
        // command asks for NaNs to be reported (steps 6, 7 and 10). All-reduce never fails a worker for one.
        var failures = logs.Entries.Where(l => l.EventId.Id == 2102).Select(l => l.Message).ToArray();
        Assert.Equal(exchange == "coordinator" ? 1 : 0, failures.Length);
        Assert.All(failures, f => Assert.Contains("gradient norm NaN", f, StringComparison.Ordinal));
    }

    private static string Decisions(IEnumerable<JsonElement> metrics) => string.Join(" ", metrics
        .Where(m => m.GetProperty("kind").GetString() is "skipped" or "rollback")
        .Select(m => $"{m.GetProperty("kind").GetString()}@{m.GetProperty("step").GetInt64()}[{m.GetProperty("fromCursor").GetInt64()},{m.GetProperty("toCursor").GetInt64()})"));

    private static float[] Finite(LoadedCheckpoint checkpoint) => [.. checkpoint.ModelTensors.SelectMany(t => t.ToFloats()).Where(float.IsFinite)];
}
