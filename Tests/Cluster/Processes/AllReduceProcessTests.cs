using RnnCluster.Model.Checkpoints;
using RnnCluster.Tests.Parallel;
using RnnCluster.Tests.Support;
using RnnCluster.Tests.Training.Tasks;

namespace RnnCluster.Tests.Cluster.Processes;

/// <summary>
/// Worker processes that average their gradients among themselves (<c>cluster.gradient-exchange =
/// all-reduce</c>): the same numbers as one process, with the coordinator fetching parameters only to
/// validate and checkpoint; a worker killed mid-run, and a worker that joins and gets the run from a peer.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class AllReduceProcessTests
{
    private const string AllReduce = "cluster.gradient-exchange=all-reduce";
    private static readonly TimeSpan Patience = LocalCluster.Patience;

    /// <remarks>Untied, only the embedding rows a step looked up travel; tied, the embedding is the decoder and travels whole.</remarks>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Two_workers_that_all_reduce_train_bit_identically_to_two_in_process_workers_with_checkpoints_from_a_worker(bool tied)
    {
        using var dir = new TempDirectory();
        var tie = $"model.tie-weights={(tied ? "true" : "false")}";
        await using var cluster = new LocalCluster(dir, LocalCluster.TinyRun(20, "cluster.min-workers=2", AllReduce, "checkpoint.every-steps=5", "training.eval-every-steps=10", tie));
        cluster.EveryNode.Add(LocalCluster.PatientDetector);
        var (coordinator, workers) = await cluster.StartAsync(2);

        await LocalCluster.ExpectExitAsync(coordinator, 0);
        foreach (var worker in workers)
        {
            await LocalCluster.ExpectExitAsync(worker, 0);
        }

        using var reference = new TempDirectory();
        var expected = await ParallelRuns.RunAsync(ParallelRuns.Settings(2, "checkpoint.every-steps=5", "training.eval-every-steps=10", tie), reference.Path);
        var actual = CheckpointReader.Load(cluster.RunDirectory).ModelTensors.SelectMany(t => t.ToFloats()).ToArray();
        // Rank-order sums on the workers = worker-order sums on a master: the same floats.
        LocalCluster.ExpectSameFloats(expected.Parameters, actual, coordinator);
        Assert.Contains("checkpoint step 15 committed", coordinator.Output, StringComparison.Ordinal);
        // Each fetch compared the copy's checksum with the other replica's.
        Assert.Contains("2 replicas agree on checksum", coordinator.Output, StringComparison.Ordinal);
        Assert.Equal(expected.Summary.ValidLoss, ValidLoss(cluster));
        // The workers' transfer splits into waiting for the slower peer's backward and the all-reduce after it.
        using var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(cluster.RunDirectory, "summary.json")));
        var split = summary.RootElement.GetProperty("stepTimeSplit");
        Assert.InRange(split.GetProperty("peerWait").GetDouble(), 0, split.GetProperty("transfer").GetDouble());
        // On one host the workers' payloads went through shared memory (cluster.shared-memory, the default).
        Assert.All(workers, w => Assert.Contains("go through shared memory", w.Output, StringComparison.Ordinal));
    }

    /// <remarks>
    /// With the decoder's gradients reported in blocks during its backward (not the default), which changes no bit,
    /// and over the sockets (<c>cluster.shared-memory = off</c> on every node), as between hosts.
    /// </remarks>
    [Fact]
    public async Task Three_workers_that_all_reduce_train_bit_identically_to_three_in_process_workers()
    {
        using var dir = new TempDirectory();
        await using var cluster = new LocalCluster(dir, LocalCluster.TinyRun(12, "cluster.min-workers=3", AllReduce, "cluster.decoder-gradient-blocks=4"));
        cluster.EveryNode.Add(LocalCluster.PatientDetector);
        cluster.EveryNode.Add("cluster.shared-memory=off");
        var (coordinator, workers) = await cluster.StartAsync(3);

        await LocalCluster.ExpectExitAsync(coordinator, 0);
        foreach (var worker in workers)
        {
            await LocalCluster.ExpectExitAsync(worker, 0);
        }

        using var reference = new TempDirectory();
        var expected = await ParallelRuns.RunAsync(ParallelRuns.Settings(3, "training.max-steps=12"), reference.Path);
        LocalCluster.ExpectSameFloats(expected.Parameters, CheckpointReader.Load(cluster.RunDirectory).ModelTensors.SelectMany(t => t.ToFloats()).ToArray(), coordinator);
        Assert.Contains(workers, w => w.Output.Contains("rank 2 of 3", StringComparison.Ordinal));
        Assert.All(workers, w => Assert.DoesNotContain("go through shared memory", w.Output, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Two_workers_that_all_reduce_train_an_acceptor_with_adam_like_two_in_process_workers()
    {
        using var dir = new TempDirectory();
        string[] run = ["training.optimizer=adam", "training.learning-rate=0.01", "model.hidden-size=16", "model.embedding-size=16", "data.builtin.sentences=600", "model.pooling=attention", "training.max-steps=10", "training.epochs=1"];
        await using var cluster = new LocalCluster(dir, [.. TaskRuns.Overrides("builtin:agreement-number", 2, run), "cluster.min-workers=2", AllReduce, "checkpoint.every-steps=4"]);
        cluster.EveryNode.Add(LocalCluster.PatientDetector);
        var (coordinator, workers) = await cluster.StartAsync(2);

        await LocalCluster.ExpectExitAsync(coordinator, 0);
        foreach (var worker in workers)
        {
            await LocalCluster.ExpectExitAsync(worker, 0);
        }

        using var reference = new TempDirectory();
        var expected = await TaskRuns.RunAsync(TaskRuns.Settings("builtin:agreement-number", 2, [.. run, "checkpoint.every-steps=4"]), reference.Path);
        var loaded = CheckpointReader.Load(cluster.RunDirectory);
        LocalCluster.ExpectSameFloats(expected.Parameters, loaded.ModelTensors.SelectMany(t => t.ToFloats()).ToArray(), coordinator);
        // Adam's moments came back from a worker with the parameters: the checkpoint resumes exactly.
        Assert.Contains(loaded.OptimizerTensors, t => t.Name.Contains("exp_avg", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bf16_gradients_without_overlap_train_close_to_but_not_exactly_like_float32()
    {
        using var dir = new TempDirectory();
        await using var cluster = new LocalCluster(dir, LocalCluster.TinyRun(20, "cluster.min-workers=2", AllReduce, "cluster.gradient-compression=bf16", "cluster.overlap-backward=off"));
        var (coordinator, workers) = await cluster.StartAsync(2);

        await LocalCluster.ExpectExitAsync(coordinator, 0);
        foreach (var worker in workers)
        {
            await LocalCluster.ExpectExitAsync(worker, 0);
        }

        using var reference = new TempDirectory();
        var expected = await ParallelRuns.RunAsync(ParallelRuns.Settings(2), reference.Path);
        var actual = CheckpointReader.Load(cluster.RunDirectory).ModelTensors.SelectMany(t => t.ToFloats()).ToArray();
        var difference = ParallelRuns.RelativeDifference(actual, expected.Parameters);
        // Gradients rounded to 8 mantissa bits: a small, non-zero drift from the float32 run over 20 steps.
        Assert.InRange(difference, 1e-7, 1e-2);
    }

    [Fact]
    public async Task A_killed_worker_makes_its_peer_abandon_the_step_and_the_survivor_finishes_with_exact_token_accounting()
    {
        using var dir = new TempDirectory();
        await using var cluster = LocalCluster.WithDelayedWindows(dir, 60, "cluster.min-workers=2", AllReduce);
        var (coordinator, workers) = await cluster.StartAsync(2);
        var (w1, w2) = (workers[0], workers[1]);
        await coordinator.WaitForLineAsync("step 5/", Patience);

        w2.Kill();

        await coordinator.WaitForLineAsync(l => l.Contains("Generation", StringComparison.Ordinal) && l.Contains(": 1 workers", StringComparison.Ordinal), Patience, "a generation of the survivor alone");
        await LocalCluster.ExpectExitAsync(coordinator, 0);
        await LocalCluster.ExpectExitAsync(w1, 0);

        using var reference = new TempDirectory();
        var expected = await ParallelRuns.RunAsync(ParallelRuns.Settings(2, "training.max-steps=60"), reference.Path);
        var actual = CheckpointReader.Load(cluster.RunDirectory).ModelTensors.SelectMany(t => t.ToFloats()).ToArray();
        // One worker computes a step's streams in one backward instead of two: float rounding differs, nothing else.
        Assert.True(ParallelRuns.RelativeDifference(actual, expected.Parameters) < 1e-4, $"relative difference {ParallelRuns.RelativeDifference(actual, expected.Parameters)}");
        Assert.Contains("reached training.max-steps after 60 steps", coordinator.Output, StringComparison.Ordinal);
        using var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(cluster.RunDirectory, "summary.json")));
        Assert.Equal(expected.Summary.TokensTrained, summary.RootElement.GetProperty("tokensTrained").GetInt64());
    }

    [Fact]
    public async Task A_worker_that_joins_mid_run_gets_the_run_from_its_peer_and_the_run_matches_the_unfailed_one()
    {
        using var dir = new TempDirectory();
        // Long enough (each window is held 30 ms) that the joiner's process has started and joined well before the end.
        await using var cluster = LocalCluster.WithDelayedWindows(dir, 500, "cluster.min-workers=1", AllReduce);
        var (coordinator, workers) = await cluster.StartAsync(1);
        await coordinator.WaitForLineAsync("step 5/", Patience);

        var joiner = cluster.StartWorker();
        await coordinator.WaitForLineAsync(l => l.Contains("Generation", StringComparison.Ordinal) && l.Contains("w1:", StringComparison.Ordinal), Patience, "a plan with the joiner");
        await LocalCluster.ExpectExitAsync(coordinator, 0);
        Assert.DoesNotContain("Abandoned", coordinator.Output, StringComparison.Ordinal);
        await LocalCluster.ExpectExitAsync(workers[0], 0);
        await LocalCluster.ExpectExitAsync(joiner, 0);
        Assert.Contains("rank 1 of 2; receiving the run from rank 0", joiner.Output, StringComparison.Ordinal);
        Assert.Contains("rank 0 of 2; this replica sends the run", workers[0].Output, StringComparison.Ordinal);

        using var reference = new TempDirectory();
        var expected = await ParallelRuns.RunAsync(ParallelRuns.Settings(2, "training.max-steps=500"), reference.Path);
        var actual = CheckpointReader.Load(cluster.RunDirectory).ModelTensors.SelectMany(t => t.ToFloats()).ToArray();
        Assert.True(ParallelRuns.RelativeDifference(actual, expected.Parameters) < 1e-3, $"relative difference {ParallelRuns.RelativeDifference(actual, expected.Parameters)}");
        using var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(cluster.RunDirectory, "summary.json")));
        Assert.Equal(expected.Summary.TokensTrained, summary.RootElement.GetProperty("tokensTrained").GetInt64());
    }

    private static double? ValidLoss(LocalCluster cluster)
    {
        using var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(cluster.RunDirectory, "summary.json")));
        return summary.RootElement.GetProperty("validLoss").GetDouble();
    }
}
