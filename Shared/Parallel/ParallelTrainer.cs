using Akka.Actor;
using RnnCluster.Config;
using RnnCluster.Data;
using RnnCluster.Torch;
using RnnCluster.Training;
using RnnCluster.Training.Parallel;

namespace RnnCluster.Parallel;

/// <summary>
/// Data-parallel training in one process: an actor system with a <see cref="RunSupervisor"/>, its
/// <see cref="CoordinatorActor"/>, a <see cref="WorkerSupervisor"/> and <c>parallel.workers</c>
/// <see cref="WorkerActor"/>s. The machine's threads are split between the replicas.
/// </summary>
public sealed class ParallelTrainer
{
    private readonly RnnClusterSettings _settings;
    private readonly Func<string?, ITrainingLoop> _createLoop;
    private readonly string _runDirectory;
    private readonly TrainerServices _services;
    private readonly string? _resumeFrom;

    /// <summary>Trains a language model on <paramref name="corpus"/>.</summary>
    public ParallelTrainer(RnnClusterSettings settings, Corpus corpus, string runDirectory, TrainerServices services, string? resumeFrom = null)
        : this(settings, resume => new TrainingLoop(settings, corpus, runDirectory, services, resume), runDirectory, services, resumeFrom)
    {
    }

    /// <summary>Trains an acceptor, transducer or encoder–decoder on <paramref name="data"/>.</summary>
    public ParallelTrainer(RnnClusterSettings settings, Data.Tasks.TaskDataset data, string runDirectory, TrainerServices services, string? resumeFrom = null)
        : this(settings, resume => new Training.Tasks.TaskTrainingLoop(settings, data, runDirectory, services, resume), runDirectory, services, resumeFrom)
    {
    }

    private ParallelTrainer(RnnClusterSettings settings, Func<string?, ITrainingLoop> createLoop, string runDirectory, TrainerServices services, string? resumeFrom)
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

    /// <summary>The run monitor: workers are its members "local/worker-N"; null = none.</summary>
    public Monitoring.RunMonitor? Monitor { get; init; }

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
        TorchRuntime.SetThreads(ThreadsPerReplica(_settings));
        var options = new CoordinatorOptions
        {
            CreateLoop = _createLoop,
            RunDirectory = _runDirectory,
            // Built here, before any actor, so bad input fails with its own message.
            InitialLoop = _createLoop(_resumeFrom),
            Parallel = _settings.Parallel,
            LoggerFactory = _services.LoggerFactory,
            Time = _services.Time,
            WorkerFaults = WorkerFaults,
            FailBeforeStep = CoordinatorFailsBeforeStep,
            Cancellation = cancellationToken,
            Monitor = Monitor,
        };
        Monitor?.MemberChanged(0, Monitoring.MemberStates.Coordinator, "local/coordinator", Monitoring.MemberStates.Up, 1);
        var system = ParallelSystem.Create("rnncluster", _services.LoggerFactory);
        try
        {
            var outcome = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
            system.ActorOf(Props.Create(() => new RunSupervisor(options, outcome)), "run");
            return await outcome.Task.ConfigureAwait(false) switch
            {
                TrainingFinished done => done.Summary,
                TrainingAborted aborted => throw new TrainingAbortedException(aborted.Reason),
                var other => throw new InvalidOperationException($"unexpected outcome {other}"),
            };
        }
        finally
        {
            await system.Terminate().ConfigureAwait(false);
            // A loop no coordinator took (the system failed to start the first one) is still ours to free.
            options.InitialLoop?.Dispose();
        }
    }
}
