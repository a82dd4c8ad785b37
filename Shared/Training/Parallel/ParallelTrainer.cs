using RnnCluster.Actors;
using RnnCluster.Config;
using RnnCluster.Data;
using RnnCluster.Torch;

namespace RnnCluster.Training.Parallel;

/// <summary>
/// Data-parallel training in one process: an actor system with a <see cref="CoordinatorActor"/>, a
/// <see cref="WorkerSupervisor"/> and <c>parallel.workers</c> <see cref="WorkerActor"/>s. The machine's
/// threads are split between the replicas. The coordinator is supervised too: if it fails it is
/// restarted (up to 3 times a minute) and resumes from the newest committed checkpoint.
/// </summary>
public sealed class ParallelTrainer
{
    private readonly RnnClusterSettings _settings;
    private readonly Corpus _corpus;
    private readonly string _runDirectory;
    private readonly TrainerServices _services;
    private readonly string? _resumeFrom;

    public ParallelTrainer(RnnClusterSettings settings, Corpus corpus, string runDirectory, TrainerServices services, string? resumeFrom = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Parallel.Workers < 1)
        {
            throw new ConfigException("parallel.workers must be >= 1 for the data-parallel trainer (0 selects the single-replica trainer)");
        }

        _settings = settings;
        _corpus = corpus;
        _runDirectory = runDirectory;
        _services = services;
        _resumeFrom = resumeFrom;
    }

    /// <summary>Test-only fault injection for workers.</summary>
    public WorkerFaults? WorkerFaults { get; init; }

    /// <summary>Test-only: the coordinator throws before planning this step (once), as a crash would.</summary>
    public long? CoordinatorFailsBeforeStep { get; init; }

    /// <summary>Intra-op threads each replica gets: the machine's threads divided among the workers.</summary>
    public static int ThreadsPerReplica(RnnClusterSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return Math.Max(1, TrainingSetup.Threads(settings.Runtime) / Math.Max(1, settings.Parallel.Workers));
    }

    public async Task<RunSummary> RunAsync(CancellationToken cancellationToken)
    {
        TorchRuntime.SetThreads(ThreadsPerReplica(_settings), _settings.Runtime.BlasThreads);
        var options = new CoordinatorOptions
        {
            CreateLoop = resume => new TrainingLoop(_settings, _corpus, _runDirectory, _services, resume),
            RunDirectory = _runDirectory,
            InitialLoop = new TrainingLoop(_settings, _corpus, _runDirectory, _services, _resumeFrom),
            Parallel = _settings.Parallel,
            LoggerFactory = _services.LoggerFactory,
            Time = _services.Time,
            WorkerFaults = WorkerFaults,
            FailBeforeStep = CoordinatorFailsBeforeStep,
            Cancellation = cancellationToken,
        };
        var system = ActorSystem.Create("rnncluster", new ActorSystemOptions
        {
            LoggerFactory = _services.LoggerFactory,
            TimeProvider = _services.Time,
            UserGuardianStrategy = new OneForOneStrategy(_ => Directive.Restart) { Limit = new RestartLimit(3, TimeSpan.FromMinutes(1)) },
        });
        try
        {
            var outcome = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
            var listener = system.ActorOf(Props.Create(() => new OutcomeListener(outcome)), "run");
            var coordinator = system.ActorOf(Props.Create(() => new CoordinatorActor(options)), "coordinator");
            listener.Tell(new OutcomeListener.WatchCoordinator(coordinator), null);
            coordinator.Tell(new StartTraining(listener), listener);
            return await outcome.Task.ConfigureAwait(false) switch
            {
                TrainingFinished finished => finished.Summary,
                TrainingAborted aborted => throw new TrainingAbortedException(aborted.Reason.Message, aborted.Reason),
                var other => throw new InvalidOperationException($"unexpected outcome {other}"),
            };
        }
        finally
        {
            await system.Terminate().ConfigureAwait(false);
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

/// <summary>The data-parallel run could not go on; the message says why and that the last checkpoint is intact.</summary>
public sealed class TrainingAbortedException(string message, Exception inner) : Exception(message, inner);
