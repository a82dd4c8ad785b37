using RnnCluster.Torch;

namespace RnnCluster.Training;

/// <summary>One open step of a training loop: a TBPTT window (<see cref="TrainingWindow"/>) or a task batch (<see cref="Tasks.TaskStep"/>).</summary>
public interface ITrainingStep
{
    /// <summary>The step this will be (1-based).</summary>
    long Step { get; }
}

/// <summary>
/// A training loop as the coordinator drives it, whatever the model: hand out the next step, take the
/// gradient SUM the caller left in <see cref="Master"/>'s gradient buffer with its loss sum and target
/// count, and finish. <see cref="TrainingLoop"/> trains language models, <see cref="Tasks.TaskTrainingLoop"/>
/// acceptors, transducers and encoder–decoders.
/// </summary>
public interface ITrainingLoop : IDisposable
{
    /// <summary>The master model: the run's parameters; its gradient buffer receives each step's gradient sum.</summary>
    TorchModel Master { get; }

    /// <summary>What a replica of the master is built from.</summary>
    TorchModelOptions MasterOptions { get; }

    /// <summary>Rows a step is split into for the workers: the streams, or the (largest) batch's examples.</summary>
    int StreamCount { get; }

    /// <summary>Optimizer steps taken so far.</summary>
    long Step { get; }

    void Start();

    /// <summary>The next step, or null when the run is over.</summary>
    ValueTask<ITrainingStep?> NextStepAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Applies the step and does what follows it (log, validation, checkpoint). Takes no cancellation: a
    /// step once trained is completed whole, and a stop request is seen by <see cref="NextStepAsync"/>.
    /// </summary>
    ValueTask CompleteStepAsync(ITrainingStep step, double lossSum, long count);

    Task<RunSummary> FinishAsync(StepTimeSplit? timings = null);

    /// <summary>The run directory's fencing number this loop took (<see cref="Model.Checkpoints.RunFence"/>): its checkpoints are refused once a newer loop took another.</summary>
    long Fence { get; }

    /// <summary>
    /// The run as it stands between steps (what a checkpoint now would hold, less the parameters), marked
    /// with <see cref="Fence"/> and checksummed with <paramref name="parameters"/>, the master's.
    /// </summary>
    Parallel.RunSnapshot Snapshot(ReadOnlySpan<float> parameters);

    /// <summary>
    /// The trainer's part of <see cref="Snapshot"/> alone (no optimizer state, no parameters): what a
    /// coordinator whose workers hold the parameters sends with each step; each worker completes it
    /// with its own (<see cref="Parallel.RunSnapshot.WithReplica"/>).
    /// </summary>
    Parallel.RunSnapshot TrainerSnapshot();

    /// <summary>
    /// From now on the replicas hold the parameters and step themselves (<see cref="RemoteReplicas"/>):
    /// completing a step counts and reports it; the master is fetched from a replica before it is read.
    /// </summary>
    void UseRemoteReplicas(RemoteReplicas remote);

    /// <summary>The learning rate the last completed step used: what remote replicas step with (NaN: the step was skipped).</summary>
    double LastLearningRate { get; }

    /// <summary>Whether the numerical guard skipped the last completed step (<c>training.numerics</c>).</summary>
    bool LastStepSkipped { get; }

    /// <summary>
    /// Rollbacks to the newest checkpoint so far: when it grows, the master holds the run again (loaded from
    /// the checkpoint) and replicas that hold their own copy must be seeded from it.
    /// </summary>
    int Rollbacks { get; }

    /// <summary>
    /// Continues the run of <paramref name="snapshot"/> with <paramref name="parameters"/> (a new cluster
    /// coordinator rebuilding from its workers): as a resume from a checkpoint, before <see cref="Start"/>.
    /// </summary>
    /// <exception cref="Model.Checkpoints.CheckpointException">The snapshot does not fit this run (sizes, data).</exception>
    void Adopt(Parallel.RunSnapshot snapshot, ReadOnlySpan<float> parameters, string source);
}
