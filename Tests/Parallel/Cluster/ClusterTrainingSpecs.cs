using Akka.Actor;
using Microsoft.Extensions.Logging;
using RnnCluster.Config;
using RnnCluster.Data;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Parallel.Cluster;
using RnnCluster.Tests.DataPlane;
using RnnCluster.Tests.Support;
using RnnCluster.Training;

namespace RnnCluster.Tests.Parallel.Cluster;

/// <summary>
/// Cluster training on Akka.Cluster inside one test process: a coordinator node and worker nodes, each
/// its own actor system and data plane on loopback, joined through the coordinator's address.
/// </summary>
[Collection(ClusterTrainingCollection.Name)]
public sealed class ClusterTrainingSpecs
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    /// <param name="tls">With <c>cluster.tls</c> (one test certificate for every node): Akka.Remote and the data plane both run TLS.</param>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Two_worker_nodes_train_exactly_like_two_in_process_workers(bool tls)
    {
        using var dir = new TempDirectory();
        using var pki = new TestCertificates();
        string[] tlsKeys = [];
        if (tls)
        {
            var ca = pki.CreateAuthority("cluster");
            var node = pki.CreateNode("node", "cluster", ca);
            tlsKeys = [$"cluster.tls.certificate=\"{node.CertificatePath}\"", $"cluster.tls.key=\"{node.KeyPath}\"", $"cluster.tls.ca=\"{ca}\""];
        }

        var settings = ParallelRuns.Settings(2, ["cluster.port=0", "cluster.min-workers=2", .. tlsKeys]);
        using var logs = new CapturingLoggerProvider();
        await using var run = await ClusterRun.StartAsync(settings, dir.Combine("run"), logs);
        var workers = new[] { run.StartWorker(), run.StartWorker() };

        var summary = await ShowingLogsAsync(logs, run.Training.WaitAsync(Patience));
        var exits = await ShowingLogsAsync(logs, Task.WhenAll(workers).WaitAsync(Patience));

        Assert.Equal(20, summary.Steps);
        Assert.All(exits, e => Assert.Equal(WorkerHost.ExitOk, e.Code));
        // Each of the three nodes: Akka.Remote (2320) and the data plane (4311).
        Assert.Equal((tls ? 3 : 0, tls ? 3 : 0), (logs.Count(2320), logs.Count(4311)));
        var expected = await ParallelRuns.RunAsync(ParallelRuns.Settings(2), dir.Combine("reference"));
        var actual = CheckpointReader.Load(dir.Combine("run")).ModelTensors.SelectMany(t => t.ToFloats()).ToArray();
        // The same plan, reduction order and dropout seeds as in one process: the same floats.
        Assert.Equal(expected.Parameters, actual);
    }

    [Fact]
    public async Task A_worker_node_that_leaves_mid_run_is_replanned_at_once_and_the_run_ends_like_the_unfailed_one()
    {
        using var dir = new TempDirectory();
        var settings = ParallelRuns.Settings(2, "cluster.port=0", "cluster.min-workers=2", "training.max-steps=40", "training.log-every-steps=1");
        using var logs = new CapturingLoggerProvider();
        using var stop = new CancellationTokenSource();
        // The second worker leaves (SIGTERM, in a process) once step 5 is done: mid-run, whatever the machine's speed.
        var observer = new StepObserver(5, stop.Cancel);
        await using var run = await ClusterRun.StartAsync(settings, dir.Combine("run"), logs, observer);
        var kept = run.StartWorker();
        var leaving = run.StartWorker(stop.Token);

        var summary = await ShowingLogsAsync(logs, run.Training.WaitAsync(Patience));

        Assert.Equal(40, summary.Steps);
        Assert.Equal(WorkerHost.ExitOk, (await leaving.WaitAsync(Patience)).Code);
        Assert.Equal(WorkerHost.ExitOk, (await kept.WaitAsync(Patience)).Code);
        // Whichever index the leaving node had, the survivor takes every stream in the next generation.
        Assert.True(logs.Entries.Any(l => System.Text.RegularExpressions.Regex.IsMatch(l.Message, @": 1 workers, shards w[01]:\[0,8\)$")), string.Join("\n", logs.Entries.Where(l => !l.Category.StartsWith("Akka", StringComparison.Ordinal)).Select(l => $"{l.EventId.Id} {l.Message}")));
        var expected = await ParallelRuns.RunAsync(ParallelRuns.Settings(2, "training.max-steps=40"), dir.Combine("reference"));
        Assert.Equal(expected.Summary.TokensTrained, summary.TokensTrained);
        var actual = CheckpointReader.Load(dir.Combine("run")).ModelTensors.SelectMany(t => t.ToFloats()).ToArray();
        Assert.True(ParallelRuns.RelativeDifference(actual, expected.Parameters) <= 1e-5);
    }

    /// <summary>The task's result; when it times out, a failure that shows what the nodes logged.</summary>
    private static async Task<T> ShowingLogsAsync<T>(CapturingLoggerProvider logs, Task<T> task)
    {
        try
        {
            return await task;
        }
        catch (TimeoutException)
        {
            var lines = logs.Entries.Where(l => l.Level >= LogLevel.Warning || !l.Category.StartsWith("Akka", StringComparison.Ordinal));
            throw new Xunit.Sdk.XunitException("timed out; the nodes logged:\n" + string.Join("\n", lines.Select(l => $"{l.Category} {l.EventId.Id} {l.Message} {l.Exception?.Message}")));
        }
    }

    /// <summary>Calls <c>then</c> once, after step <c>step</c>.</summary>
    private sealed class StepObserver(long step, Action then) : ITrainingObserver
    {
        public void OnStart(TrainingStart start)
        {
        }

        public void OnStep(StepReport report)
        {
            if (report.Step == step)
            {
                then();
            }
        }

        public void OnEvaluation(EvaluationReport evaluation)
        {
        }

        public void OnCheckpoint(string directory, long step, bool isBest)
        {
        }
    }

    /// <summary>A coordinator node training in the background, and the workers started against it.</summary>
    private sealed class ClusterRun : IAsyncDisposable
    {
        private readonly RnnClusterSettings _settings;
        private readonly ILoggerFactory _loggers;
        private readonly CancellationTokenSource _stop = new();
        private Address? _address;

        private ClusterRun(RnnClusterSettings settings, ILoggerFactory loggers)
        {
            _settings = settings;
            _loggers = loggers;
        }

        public Task<RunSummary> Training { get; private set; } = null!;

        public static async Task<ClusterRun> StartAsync(RnnClusterSettings settings, string runDirectory, CapturingLoggerProvider logs, ITrainingObserver? observer = null)
        {
            var loggers = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Information));
            var run = new ClusterRun(settings, loggers);
            var listening = new TaskCompletionSource<Address>(TaskCreationOptions.RunContinuationsAsynchronously);
            var corpus = CorpusLoader.Load(settings.Data.Path, TrainingSetup.Corpus(settings.Data));
            var trainer = new ClusterTrainer(settings, corpus, runDirectory, new TrainerServices(TimeProvider.System, loggers, observer)) { OnListening = a => listening.TrySetResult(a) };
            run.Training = Task.Run(() => trainer.RunAsync(run._stop.Token));
            run._address = await Task.WhenAny(listening.Task, run.Training).ConfigureAwait(false) == listening.Task
                ? listening.Task.Result
                : throw new InvalidOperationException("the coordinator ended before it listened", run.Training.Exception);
            return run;
        }

        public Task<WorkerExit> StartWorker(CancellationToken stop = default)
        {
            var worker = _settings with { Cluster = _settings.Cluster with { Seeds = [$"{_address!.Host}:{_address.Port}"], Port = 0 } };
            return Task.Run(() => WorkerHost.RunAsync(worker, _loggers, TimeProvider.System, null, stop));
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            try
            {
                await Training.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or TimeoutException or TrainingAbortedException)
            {
            }

            _loggers.Dispose();
            _stop.Dispose();
        }
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterTrainingCollection
{
    public const string Name = "cluster training in one process";
}
