using RnnCluster.Actors;
using RnnCluster.Cluster;
using RnnCluster.Config;
using RnnCluster.Data;
using RnnCluster.Torch;

namespace RnnCluster.Training.Cluster;

/// <summary>
/// The coordinator process of a multi-process run (on our own actor runtime and membership until the
/// cluster moves to Akka.Cluster): binds <c>cluster.host:port</c>, runs no local workers, and trains
/// with the worker processes that join. The coordinator is supervised: if it fails it is restarted
/// (up to 3 times a minute) and resumes from the newest committed checkpoint.
/// </summary>
public sealed class ClusterTrainer
{
    private readonly RnnClusterSettings _settings;
    private readonly Func<string?, ITrainingLoop> _createLoop;
    private readonly string _runDirectory;
    private readonly TrainerServices _services;
    private readonly string? _resumeFrom;

    /// <summary>Trains a language model on <paramref name="corpus"/>.</summary>
    public ClusterTrainer(RnnClusterSettings settings, Corpus corpus, string runDirectory, TrainerServices services, string? resumeFrom = null)
        : this(settings, resume => new TrainingLoop(settings, corpus, runDirectory, services, resume), runDirectory, services, resumeFrom)
    {
    }

    /// <summary>Trains an acceptor, transducer or encoder–decoder on <paramref name="data"/>.</summary>
    public ClusterTrainer(RnnClusterSettings settings, Data.Tasks.TaskDataset data, string runDirectory, TrainerServices services, string? resumeFrom = null)
        : this(settings, resume => new Tasks.TaskTrainingLoop(settings, data, runDirectory, services, resume), runDirectory, services, resumeFrom)
    {
    }

    private ClusterTrainer(RnnClusterSettings settings, Func<string?, ITrainingLoop> createLoop, string runDirectory, TrainerServices services, string? resumeFrom)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Parallel.Workers < 1)
        {
            throw new ConfigException("parallel.workers must be >= 1 for the data-parallel trainer (0 selects the single-replica trainer)");
        }

        _settings = settings;
        _createLoop = createLoop;
        _runDirectory = runDirectory;
        _services = services;
        _resumeFrom = resumeFrom;
    }

    /// <summary>Called with the node once it listens (the CLI prints the address).</summary>
    public Action<ClusterNode>? OnListening { get; init; }

    public async Task<RunSummary> RunAsync(CancellationToken cancellationToken)
    {
        // The coordinator computes no windows itself: its threads go to the optimizer step.
        TorchRuntime.SetThreads(TrainingSetup.Threads(_settings.Runtime));
        var initialLoop = _createLoop(_resumeFrom);
        var guardian = new OneForOneStrategy(_ => Directive.Restart) { Limit = new RestartLimit(3, TimeSpan.FromMinutes(1)) };
        ClusterNode node;
        try
        {
            node = await ClusterNode.StartAsync(
                new ClusterNodeOptions
                {
                    Settings = _settings.Cluster,
                    Role = ClusterNodeOptions.CoordinatorRole,
                    Incarnation = ClusterNodeOptions.NewIncarnation(_services.Time),
                    UserGuardianStrategy = guardian,
                    Device = _settings.Runtime.Device,
                    Threads = TorchRuntime.Threads,
                    TestFaults = ClusterNodeOptions.FaultsFrom(_settings.Cluster),
                },
                ClusterProtocol.CreateRegistry(), _services.LoggerFactory, _services.Time, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            initialLoop.Dispose();
            throw;
        }

        var system = node.System;
        var replica = Tasks.TaskSetup.Replica(initialLoop.MasterOptions, _settings.ToHocon());
        var messaging = node.Messaging;
        var pool = system.ActorOf(Props.Create(() => new RemoteWorkerPool(messaging, replica, _services.LoggerFactory)), "pool");
        OnListening?.Invoke(node);
        var options = new ClusterCoordinatorOptions
        {
            CreateLoop = _createLoop,
            RunDirectory = _runDirectory,
            InitialLoop = initialLoop,
            WorkerPool = pool,
            MinWorkers = _settings.Cluster.MinWorkers,
            Parallel = _settings.Parallel,
            LoggerFactory = _services.LoggerFactory,
            Time = _services.Time,
            Cancellation = cancellationToken,
        };
        var finished = false;
        try
        {
            var outcome = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
            var listener = system.ActorOf(Props.Create(() => new OutcomeListener(outcome)), "run");
            var coordinator = system.ActorOf(Props.Create(() => new ClusterCoordinator(options)), "coordinator");
            listener.Tell(new OutcomeListener.WatchCoordinator(coordinator), null);
            coordinator.Tell(new StartTraining(listener), listener);
            var result = await outcome.Task.ConfigureAwait(false);
            // An interrupted run (SIGTERM) is not over: workers wait for the coordinator to come back.
            finished = result is TrainingFinished { Summary.StoppedBy: not "interrupted" };
            return result switch
            {
                TrainingFinished done => done.Summary,
                TrainingAborted aborted => throw new TrainingAbortedException(aborted.Reason.Message, aborted.Reason),
                var other => throw new InvalidOperationException($"unexpected outcome {other}"),
            };
        }
        finally
        {
            if (finished)
            {
                // Workers exit 0 on this; after an interrupt they wait for the coordinator to come back.
                // Also said as the farewell every connection closes with, for a worker the message misses.
                node.Transport.Farewell = ClusterFarewell.RunFinished("training finished");
                try
                {
                    await node.Daemon.Ask<ClusterLeader.SendRunFinished>(new ClusterLeader.SendRunFinished("training finished"), TimeSpan.FromSeconds(5)).ConfigureAwait(false);
                }
                catch (AskTimeoutException)
                {
                    // Workers then notice the coordinator is gone and exit after cluster.join-timeout.
                }
            }

            await node.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Completes the run's task with the coordinator's answer, or with an abort if the coordinator dies without one.</summary>
    private sealed class OutcomeListener : ReceiveActor
    {
        public OutcomeListener(TaskCompletionSource<object> outcome)
        {
            Receive<TrainingFinished>(f => outcome.TrySetResult(f));
            Receive<TrainingAborted>(a => outcome.TrySetResult(a));
            Receive<WatchCoordinator>(w => Context.Watch(w.Coordinator));
            Receive<Terminated>(_ => outcome.TrySetResult(new TrainingAborted(new InvalidOperationException("the coordinator stopped without finishing the run (it failed more than 3 times within a minute); see the log above"))));
        }

        public sealed record WatchCoordinator(IActorRef Coordinator);
    }
}
