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

    ValueTask CompleteStepAsync(ITrainingStep step, double lossSum, long count, CancellationToken cancellationToken);

    Task<RunSummary> FinishAsync(StepTimeSplit? timings = null);
}
