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
    RunSnapshot? Snapshot = null,
    ExchangeCommand? Exchange = null)
{
    /// <summary>The all-reduce group of <see cref="Exchange"/>'s generation, set by the worker's node (never on the wire).</summary>
    public IGradientExchange? Group { get; init; }

    /// <summary>
    /// A NaN or infinite gradient is sent (it is the data's: it came back on a retry, or the run is in a
    /// streak of bad steps) instead of failing the worker; the coordinator's guard skips the step.
    /// </summary>
    public bool ReportNonFinite { get; init; }
}

/// <summary>
/// Coordinator → worker: compute rows [FirstRow, FirstRow + Shard.Rows) of a task batch from the given
/// parameters. The reply is a <see cref="WindowGradients"/> whose Tokens counts the shard's targets and
/// whose FinalState is empty: task batches carry no state from one step to the next.
/// </summary>
public sealed record ComputeBatch(long Step, int Generation, int Attempt, int FirstRow, Tasks.TaskShard Shard, float[] Parameters, RunSnapshot? Snapshot = null, ExchangeCommand? Exchange = null)
{
    /// <summary>The all-reduce group of <see cref="Exchange"/>'s generation, set by the worker's node (never on the wire).</summary>
    public IGradientExchange? Group { get; init; }

    /// <summary>As <see cref="ComputeWindow.ReportNonFinite"/>.</summary>
    public bool ReportNonFinite { get; init; }
}

/// <summary>A new coordinator → a worker that reported holding the run at <see cref="Step"/>: send it.</summary>
public sealed record FetchSnapshot(long Step);

/// <summary>Worker → new coordinator: the run it holds (the last step command's parameters and snapshot).</summary>
public sealed record SnapshotCopy(RunSnapshot Snapshot, float[] Parameters);

/// <summary>
/// Worker → coordinator: the SUM of gradients over <see cref="Tokens"/> targets of its streams, the
/// loss sum, and the streams' final states (so the coordinator always holds every stream's state).
/// After an all-reduce among the workers <see cref="Gradients"/> is empty and <see cref="Norm"/> is the
/// reduced gradient's norm (every replica holds the same); <see cref="Abandoned"/>: the all-reduce failed
/// and nothing of the step is pending. <see cref="CopySeconds"/> runs from the end of this worker's backward
/// to the end of its exchange (in an all-reduce the coordinator works out how much of it was waiting for a
/// slower member's backward: <see cref="StepTimeSplit.PeerWait"/>).
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
    double CopySeconds = 0,
    double Norm = 0,
    bool Abandoned = false);

/// <summary>
/// What a step command adds when the workers average gradients among themselves
/// (<c>cluster.gradient-exchange = all-reduce</c>): the generation's members in rank order, the previous
/// step to apply first, and where a worker without the run's parameters gets them. Null in a
/// parameter-server step (the command's <c>Parameters</c> are the run's).
/// </summary>
/// <param name="Rank">This worker's place in <paramref name="Members"/>: the reduction order.</param>
/// <param name="Members">Every member's data-plane identity and endpoint (<c>address#incarnation@host:port</c>), in rank order.</param>
/// <param name="Commit">The step the coordinator closed last, to apply before computing this one (null: none since the replicas were seeded).</param>
/// <param name="SyncSource">Rank of a member holding the run that sends it to the others before this step (-1: every member holds it).</param>
/// <param name="SeedOptimizer">With non-empty command parameters (the coordinator seeds this worker): the optimizer state to adopt.</param>
/// <param name="SeedOptimizerSteps">With a seed: the optimizer's step count.</param>
public sealed record ExchangeCommand(
    int Rank,
    IReadOnlyList<string> Members,
    StepCommit? Commit,
    int SyncSource,
    float[] SeedOptimizer,
    long SeedOptimizerSteps);

/// <summary>The coordinator closed <see cref="Step"/>: every replica applies its reduced gradient with this learning rate.</summary>
public sealed record StepCommit(long Step, double LearningRate);

/// <summary>
/// Coordinator → one worker holding the run: apply <see cref="Commit"/> if still pending and send the
/// parameters and optimizer state (for a validation or a checkpoint on the coordinator).
/// </summary>
public sealed record FetchReplica(long Step, StepCommit? Commit, bool ChecksumOnly = false);

/// <summary>
/// A replica's parameters and optimizer state after <see cref="Step"/> steps, with the checksum of both
/// (<see cref="Hash"/>); the buffers are empty when only the checksum was asked for.
/// </summary>
public sealed record ReplicaCopy(long Step, float[] Parameters, float[] OptimizerState, long OptimizerSteps, ulong Checksum = 0)
{
    /// <summary>XxHash3 over the step count, the parameters and the optimizer state: equal on replicas that hold the same run.</summary>
    public static ulong Hash(ReadOnlySpan<float> parameters, ReadOnlySpan<float> optimizerState, long optimizerSteps)
    {
        var hash = new System.IO.Hashing.XxHash3();
        Span<long> header = [optimizerSteps, parameters.Length, optimizerState.Length];
        hash.Append(System.Runtime.InteropServices.MemoryMarshal.AsBytes(header));
        hash.Append(System.Runtime.InteropServices.MemoryMarshal.AsBytes(parameters));
        hash.Append(System.Runtime.InteropServices.MemoryMarshal.AsBytes(optimizerState));
        return hash.GetCurrentHashAsUInt64();
    }
}

/// <summary>
/// The gradient all-reduce among the workers of one generation as a replica's compute thread uses it:
/// blocking calls (the thread has nothing else to do meanwhile). Every member ends with the same bytes.
/// Implemented on the data plane (<c>RnnCluster.Parallel.Cluster</c>); the training layer knows only this.
/// </summary>
public interface IGradientExchange
{
    int Rank { get; }

    int Size { get; }

    /// <summary>Element-wise sum over the members, in place, in rank order; each (step, segment) once per group.</summary>
    /// <exception cref="GradientExchangeAbandonedException">A member is gone, sent a bad frame or stalled: the step is abandoned.</exception>
    void AllReduce(Memory<float> values, long step, int segment);

    /// <summary>
    /// Starts the sum of <paramref name="values"/> without waiting (a layer's gradients while backward goes
    /// on below it); several segments may be in flight. The task fails with <see cref="GradientExchangeAbandonedException"/>.
    /// </summary>
    Task AllReduceAsync(Memory<float> values, long step, int segment);

    /// <summary>Every member's vector, in rank order (lengths may differ); once per step and group.</summary>
    /// <exception cref="GradientExchangeAbandonedException">As for <see cref="AllReduce"/>.</exception>
    float[][] AllGather(float[] mine, long step);
}

/// <summary>The all-reduce of a step could not finish; nothing of the step was applied.</summary>
public sealed class GradientExchangeAbandonedException : Exception
{
    public GradientExchangeAbandonedException()
    {
    }

    public GradientExchangeAbandonedException(string message)
        : base(message)
    {
    }

    public GradientExchangeAbandonedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
