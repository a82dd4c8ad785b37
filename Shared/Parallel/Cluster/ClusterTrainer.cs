using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Akka.Actor;
using RnnCluster.Config;
using RnnCluster.Data;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Tensors;
using RnnCluster.Parallel.Cluster.Wire;
using RnnCluster.Torch;
using RnnCluster.Training;
using AkkaCluster = Akka.Cluster.Cluster;

namespace RnnCluster.Parallel.Cluster;

/// <summary>
/// The coordinator process of a multi-process run on Akka.Cluster: an actor system (in a <see cref="ClusterNodeHost"/>) with the
/// <c>coordinator</c> role on <c>cluster.host:port</c> (the seed workers join through), a data-plane
/// listener, and the <see cref="ClusterRunActor"/> as the cluster's coordinator singleton. It computes no
/// windows itself: its threads go to the optimizer step.
/// </summary>
public sealed class ClusterTrainer
{
    private readonly RnnClusterSettings _settings;
    private readonly Func<string?, ITrainingLoop> _createLoop;
    private readonly string _runDirectory;
    private readonly TrainerServices _services;
    private readonly string? _resumeFrom;
    // What the run directory's newest checkpoint was when --resume was resolved: a standby that takes over
    // later resumes from the pinned checkpoint only while this is still the newest.
    private readonly string? _newestWhenResumeChosen;

    /// <summary>Trains a language model on <paramref name="corpus"/>.</summary>
    public ClusterTrainer(RnnClusterSettings settings, Corpus corpus, string runDirectory, TrainerServices services, string? resumeFrom = null)
        : this(settings, resume => new TrainingLoop(settings, corpus, runDirectory, services, resume), runDirectory, services, resumeFrom)
    {
    }

    /// <summary>Trains an acceptor, transducer or encoder–decoder on <paramref name="data"/>.</summary>
    public ClusterTrainer(RnnClusterSettings settings, Data.Tasks.TaskDataset data, string runDirectory, TrainerServices services, string? resumeFrom = null)
        : this(settings, resume => new Training.Tasks.TaskTrainingLoop(settings, data, runDirectory, services, resume), runDirectory, services, resumeFrom)
    {
    }

    private ClusterTrainer(RnnClusterSettings settings, Func<string?, ITrainingLoop> createLoop, string runDirectory, TrainerServices services, string? resumeFrom)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _createLoop = createLoop;
        _runDirectory = runDirectory;
        _services = services;
        _resumeFrom = resumeFrom;
        _newestWhenResumeChosen = resumeFrom is null ? null : Model.Checkpoints.CheckpointStore.FindLatest(runDirectory);
    }

    /// <summary>Called once the node listens, with its Akka address (the CLI prints how to start workers).</summary>
    public Action<Address>? OnListening { get; init; }

    /// <summary>The run monitor: this node (the coordinator) and the registered workers are its members; null = none.</summary>
    public Monitoring.RunMonitor? Monitor { get; init; }

    /// <summary>Extra Akka settings before ours (tests: faster failure detection).</summary>
    public Akka.Configuration.Config? AkkaOverrides { get; init; }

    public async Task<RunSummary> RunAsync(CancellationToken cancellationToken)
    {
        TorchRuntime.SetThreads(TrainingSetup.Threads(_settings.Runtime));
        var secret = NodeSetup.LoadSecret(_settings.Cluster);
        var node = await ClusterNodeHost.StartAsync(_settings.Cluster, ClusterSystem.CoordinatorRole, _services.LoggerFactory, AkkaOverrides, cancellationToken).ConfigureAwait(false);
        var system = node.System;
        TensorTransport? dataPlane = null;
        // SIGTERM (the caller's token) and a hand-over (this node leaving) stop the coordinator alike;
        // disposed only once the actor system, which may still hand over, has terminated.
        var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            var cluster = AkkaCluster.Get(system);
            await ClusterJoin.StartAsync(system, _settings.Cluster, cancellationToken, node.Health).ConfigureAwait(false);

            var incarnation = NodeSetup.NewIncarnation(_services.Time);
            dataPlane = new TensorTransport(
                DataPlaneOptions.For(_settings.Cluster, new NodeIdentity(cluster.SelfAddress.ToString(), incarnation)),
                secret, _services.LoggerFactory, _services.Time, RandomNumberGenerator.Create());
            await dataPlane.StartAsync(cancellationToken).ConfigureAwait(false);
            var outcome = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
            var runsHere = new StrongBox<bool>();

            var options = new ClusterRunOptions
            {
                Coordinator = new CoordinatorOptions
                {
                    CreateLoop = _createLoop,
                    RunDirectory = _runDirectory,
                    Parallel = _settings.Parallel,
                    LoggerFactory = _services.LoggerFactory,
                    Time = _services.Time,
                    Cancellation = stop.Token,
                    LocalWorkers = false,
                    MinWorkers = _settings.Cluster.MinWorkers,
                    SnapshotsToWorkers = _settings.Cluster.RebuildFromWorkers,
                    AllReduce = _settings.Cluster.GradientExchange == GradientExchange.AllReduce,
                    FetchTimeout = _settings.Cluster.TransferTimeout * 2,
                    BalanceStreams = _settings.Cluster.BalanceStreams,
                    Monitor = Monitor,
                },
                DataPlane = dataPlane,
                RunId = Path.GetFileName(Path.GetFullPath(_runDirectory)),
                SettingsHocon = _settings.ToHocon(),
                ResumeFrom = _resumeFrom,
                NewestWhenResumeChosen = _newestWhenResumeChosen,
                GatherTimeout = _settings.Cluster.RebuildWait,
                Outcome = outcome,
                RequestStop = stop.Cancel,
                RunStartedHere = () => Volatile.Write(ref runsHere.Value, true),
                TestSendDelay = TestFaults.SendDelay(_settings.Cluster),
            };
            // Where the run's end reaches a coordinator-eligible node that is not running it.
            system.ActorOf(Props.Create(() => new RunWatch(outcome)), ClusterRunActor.RunWatchName);
            CoordinatorSingleton.Start(system, Props.Create(() => new ClusterRunActor(options)), HandOver.Instance);
            OnListening?.Invoke(cluster.SelfAddress);
            // A node that is not running the run (a standby) has nothing else that would end it: without these, SIGTERM
            // and a terminated actor system (the node was downed) left the process alive for good, so its launcher
            // never started it again (found by the soak). The running coordinator completes the outcome itself.
            using var standbyStop = stop.Token.Register(() =>
            {
                if (!Volatile.Read(ref runsHere.Value))
                {
                    outcome.TrySetResult(StandbyStopped.Instance);
                }
            });
            _ = system.WhenTerminated.ContinueWith(_ => outcome.TrySetResult(NodeTerminated.Instance), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            var result = await outcome.Task.ConfigureAwait(false);
            return result switch
            {
                TrainingFinished done => done.Summary,
                TrainingAborted aborted => throw new TrainingAbortedException(aborted.Reason),
                RunFinished { Aborted: true } elsewhere => throw new TrainingAbortedException($"the run failed on another coordinator: {elsewhere.Reason}"),
                RunFinished elsewhere => SummaryWrittenElsewhere(elsewhere),
                StandbyStopped => throw new StandbyStoppedException("this coordinator was standing by and stopped on request; the run goes on at the coordinator that runs it"),
                NodeTerminated => throw new TrainingAbortedException("this node's actor system stopped (the cluster downed it, or it left) while the run went on elsewhere; a downed node cannot rejoin, so start it again"),
                var other => throw new InvalidOperationException($"unexpected outcome {other}"),
            };
        }
        finally
        {
            // The host's stop runs CoordinatedShutdown: leaving lets the RunFinished notices go out and the workers
            // see a graceful exit, not a crash; the singleton is handed over (HandOver: checkpoint first) before the
            // system terminates.
            await node.StopAsync().ConfigureAwait(false);
            if (dataPlane is not null)
            {
                await dataPlane.DisposeAsync().ConfigureAwait(false);
            }

            await node.DisposeAsync().ConfigureAwait(false);
            stop.Dispose();
        }
    }

    /// <summary>The run ended on another coordinator-eligible node: its summary.json, in the shared run directory.</summary>
    private RunSummary SummaryWrittenElsewhere(RunFinished finished)
    {
        var path = Path.Combine(_runDirectory, "summary.json");
        try
        {
            return RunSummary.FromJson(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException or UnauthorizedAccessException)
        {
            throw new TrainingAbortedException($"the run ended on another coordinator ({finished.Reason}), but its summary {path} cannot be read: {e.Message}");
        }
    }

    private sealed class StandbyStopped
    {
        public static readonly StandbyStopped Instance = new();
    }

    private sealed class NodeTerminated
    {
        public static readonly NodeTerminated Instance = new();
    }

    /// <summary>Completes the node's outcome with the <see cref="RunFinished"/> the running coordinator sends the others.</summary>
    private sealed class RunWatch : ReceiveActor
    {
        public RunWatch(TaskCompletionSource<object> outcome) => Receive<RunFinished>(f => outcome.TrySetResult(f));
    }
}
