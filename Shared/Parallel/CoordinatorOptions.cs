using Microsoft.Extensions.Logging;
using RnnCluster.Config;
using RnnCluster.Training;
using RnnCluster.Training.Parallel;

namespace RnnCluster.Parallel;

/// <summary>Everything a coordinator needs; shared by every incarnation across restarts.</summary>
public sealed class CoordinatorOptions
{
    /// <summary>Builds the training loop, resuming from the given checkpoint (null = a fresh run).</summary>
    public required Func<string?, ITrainingLoop> CreateLoop { get; init; }

    public required string RunDirectory { get; init; }

    /// <summary>
    /// The first incarnation's loop, built by the caller before the actors start so that bad input
    /// (settings, data, a refused checkpoint) fails with its own message instead of inside an actor.
    /// Later incarnations build theirs from the newest committed checkpoint.
    /// </summary>
    public ITrainingLoop? InitialLoop { get; set; }

    public required ParallelSettings Parallel { get; init; }

    public required ILoggerFactory LoggerFactory { get; init; }

    public required TimeProvider Time { get; init; }

    /// <summary>Where the step time went, summed over the run (all incarnations).</summary>
    internal StepTimeSplit Timings { get; } = new();

    public WorkerFaults? WorkerFaults { get; init; }

    /// <summary>Test-only: makes the coordinator throw when it is about to plan this step (once).</summary>
    public long? FailBeforeStep { get; set; }

    public CancellationToken Cancellation { get; init; }

    /// <summary>The run monitor the coordinator reports members, generations, failures and step times to; null = none.</summary>
    public Monitoring.RunMonitor? Monitor { get; init; }

    /// <summary>
    /// True (one process): the coordinator creates <see cref="ParallelSettings.Workers"/> worker actors under
    /// its own <see cref="WorkerSupervisor"/>. False (a cluster): workers arrive as <see cref="WorkersReady"/>
    /// from the node that registers them, the run waits for <see cref="MinWorkers"/>, and when every worker
    /// is gone it waits for new ones instead of aborting.
    /// </summary>
    public bool LocalWorkers { get; init; } = true;

    /// <summary>
    /// A cluster with failover: every step command also carries the run's <see cref="RunSnapshot"/>, so a
    /// coordinator that takes over rebuilds the run from its workers with no step lost.
    /// </summary>
    public bool SnapshotsToWorkers { get; init; }

    /// <summary>Workers that must be ready before the first step (a cluster; in one process all are ready at once).</summary>
    public int MinWorkers { get; init; } = 1;

    /// <summary>
    /// Cluster only (<c>cluster.gradient-exchange = all-reduce</c>): the workers sum their gradients among
    /// themselves and step their own replicas; commands carry no parameters, replies no gradients, and the
    /// master is fetched from a worker when it is read (validation, checkpoints, the end).
    /// </summary>
    public bool AllReduce { get; init; }

    /// <summary>Cluster (<c>cluster.balance-streams</c>): new generations give workers streams in proportion to their measured speed.</summary>
    public bool BalanceStreams { get; init; }

    /// <summary>How long a fetch of a worker's parameters may take before the coordinator fails (and resumes from its checkpoint).</summary>
    public TimeSpan FetchTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How many coordinators have started (the first is 1); names each incarnation's worker supervisor.</summary>
    internal int Incarnation { get; set; }
}
