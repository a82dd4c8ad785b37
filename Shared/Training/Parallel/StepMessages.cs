namespace RnnCluster.Training.Parallel;

/// <summary>
/// Coordinator → worker: compute one window for streams [FirstStream, FirstStream+StreamCount) from
/// the given parameters and stream states. Ids are time-major <c>[Length, StreamCount]</c>. Every
/// message carries the parameters, so a restarted worker is re-seeded by the retry itself; on a cluster
/// it also carries the run's <see cref="RunSnapshot"/> as of those parameters (null in one process).
/// In-process the arrays are shared, not copied: nobody writes them while the step is open.
/// </summary>
public sealed record ComputeWindow(
    long Step,
    int Generation,
    int Attempt,
    int FirstStream,
    int StreamCount,
    int Length,
    long[] Inputs,
    long[] Targets,
    float[] State,
    float[] Parameters,
    RunSnapshot? Snapshot = null);

/// <summary>
/// Coordinator → worker: compute rows [FirstRow, FirstRow + Shard.Rows) of a task batch from the given
/// parameters. The reply is a <see cref="WindowGradients"/> whose Tokens counts the shard's targets and
/// whose FinalState is empty: task batches carry no state from one step to the next.
/// </summary>
public sealed record ComputeBatch(long Step, int Generation, int Attempt, int FirstRow, Tasks.TaskShard Shard, float[] Parameters, RunSnapshot? Snapshot = null);

/// <summary>A new coordinator → a worker that reported holding the run at <see cref="Step"/>: send it.</summary>
public sealed record FetchSnapshot(long Step);

/// <summary>Worker → new coordinator: the run it holds (the last step command's parameters and snapshot).</summary>
public sealed record SnapshotCopy(RunSnapshot Snapshot, float[] Parameters);

/// <summary>
/// Worker → coordinator: the SUM of gradients over <see cref="Tokens"/> targets of its streams, the
/// loss sum, and the streams' final states (so the coordinator always holds every stream's state).
/// </summary>
public sealed record WindowGradients(
    long Step,
    int Generation,
    int Attempt,
    int WorkerIndex,
    double LossSum,
    long Tokens,
    float[] Gradients,
    float[] FinalState,
    double ComputeSeconds = 0,
    double CopySeconds = 0);
