namespace RnnCluster.Training;

/// <summary>
/// Everything besides tensors that a resumed run needs to continue exactly where it stopped:
/// counters, the data cursor, learning-rate schedule state and both random generators. Stored as
/// <c>trainer.json</c> in a checkpoint.
/// </summary>
public sealed record TrainerState
{
    /// <summary>Optimizer steps taken so far (the next step has this number plus one).</summary>
    public required long Step { get; init; }

    /// <summary>Zero-based epoch the cursor is in.</summary>
    public required int Epoch { get; init; }

    /// <summary>Time index into the batched training streams where the next window starts.</summary>
    public required long Cursor { get; init; }

    /// <summary>Target tokens trained on since the run began (across resumes).</summary>
    public required long TokensSeen { get; init; }

    /// <summary>Learning rate in force for the next step, after any schedule change.</summary>
    public required double LearningRate { get; init; }

    /// <summary>Base learning rate the plateau schedule divides (it changes only on a plateau).</summary>
    public required double PlateauLearningRate { get; init; }

    /// <summary>Best validation loss seen so far, or null before the first evaluation.</summary>
    public double? BestValidLoss { get; init; }

    /// <summary>Evaluations in a row without improving <see cref="BestValidLoss"/> (early stop patience).</summary>
    public int EvaluationsWithoutImprovement { get; init; }

    /// <summary>State of the C# data-order generator (<see cref="Common.SeededRandom.GetState"/>).</summary>
    public required IReadOnlyList<ulong> DataRandomState { get; init; }

    /// <summary>libtorch generator state of the model (dropout masks), base64.</summary>
    public required string ModelRandomState { get; init; }

    /// <summary>
    /// Hidden state of every training stream at <see cref="Cursor"/>, so a resume continues it: float32
    /// bytes, base64 in the JSON as always. Bytes rather than a base64 string because the coordinator
    /// serializes this state every step: the writer encodes it straight into its UTF-8 output.
    /// </summary>
    public byte[]? StreamState { get; init; }

    /// <summary>Wall-clock seconds spent training before this checkpoint (for summaries across resumes).</summary>
    public double TrainSeconds { get; init; }

    /// <summary>Bad (skipped) steps in a row up to this checkpoint (<c>training.numerics</c>); 0 in older checkpoints.</summary>
    public int ConsecutiveSkips { get; init; }

    /// <summary>Mean losses of the last applied steps, oldest first: the spike detector's window (null in older checkpoints).</summary>
    public IReadOnlyList<double>? RecentLosses { get; init; }

    /// <summary>Data ranges rollbacks skipped since the run began, oldest first (null in older checkpoints and runs without one).</summary>
    public IReadOnlyList<Numerics.SkippedRange>? SkippedRanges { get; init; }
}
