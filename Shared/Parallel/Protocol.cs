using Akka.Actor;
using RnnCluster.Training;

namespace RnnCluster.Parallel;

// The coordinator ↔ worker protocol of data-parallel training, in one place.
//
//   coordinator → worker   ComputeWindow / ComputeBatch (Training.Parallel): one shard of the open step,
//                          tagged (step, generation, attempt); idempotent, so a retry is always safe.
//   worker → coordinator   WindowGradients (Training.Parallel): the shard's gradient sum, loss, tokens and
//                          final stream states, with the same tags; refused unless it answers the open step
//                          of the current generation, and counted once.
//   worker → coordinator   ShardFailed: the worker threw and restarts with a fresh replica; the shard is retried.
//   With cluster.gradient-exchange = all-reduce the workers sum their gradients among themselves (the
//   commands carry ExchangeCommand: members, the previous step's commit, a seed or sync source), the replies
//   carry no gradients, and the coordinator reads the parameters only through FetchReplica → ReplicaCopy.
//   supervisor → coordinator WorkersReady: the workers exist and can be watched (Terminated = stopped for good).
//   coordinator → parent   TrainingFinished / TrainingAborted: the run's outcome.
//   coordinator → parent   AttachWorkers (a cluster): send me the workers you hold (again after a restart).
//   coordinator → itself   BeginStep, StepDeadlinePassed (a timer), StopRequested (the run's cancellation:
//                          seen between steps by the loop, and here while the coordinator waits for workers).
//   singleton manager → cluster run actor  HandOver: this node leaves (SIGTERM, a requested leave); stop
//                          at the step boundary, checkpoint, stop, so the next coordinator-eligible node
//                          takes over from that checkpoint.
//
// The step records live in Training.Parallel because they carry no actor types: the pure step protocol
// (StepProtocol) builds and checks them, and the cluster serialises them.

/// <summary>Worker supervisor → coordinator: the workers exist (and can be watched).</summary>
public sealed record WorkersReady(IReadOnlyList<(int Index, IActorRef Ref)> Workers)
{
    /// <summary>All-reduce mode: where each worker's peers reach it (<c>address#incarnation@host:port</c>).</summary>
    public IReadOnlyDictionary<int, string> Addresses { get; init; } = new Dictionary<int, string>();
}

/// <summary>
/// Worker → coordinator, sent as the worker restarts: computing the shard of <paramref name="Step"/>
/// failed; a fresh replica is coming and the failing message is not processed again, so the
/// coordinator retries the shard. <paramref name="NonFinite"/>: the replica refused its own NaN or infinite
/// gradient (<see cref="Training.Parallel.NonFiniteGradientException"/>); the retry then asks for the
/// gradient to be reported, so a NaN that comes back from a fresh replica is taken as the data's.
/// </summary>
public sealed record ShardFailed(int WorkerIndex, long Step, string Reason, bool NonFinite = false);

/// <summary>Coordinator → its parent: the run ended (finished, interrupted or stopped by a rule).</summary>
public sealed record TrainingFinished(RunSummary Summary);

/// <summary>Coordinator → its parent: the run cannot go on; the reason names what happened and what is intact.</summary>
public sealed record TrainingAborted(string Reason);

/// <summary>
/// Coordinator → its parent, in a cluster (where workers arrive from the parent, not from a supervisor
/// of its own): send me every worker you hold as <see cref="WorkersReady"/> — now, and again after a
/// restart, since a restarted coordinator starts with no workers.
/// </summary>
public sealed record AttachWorkers
{
    public static AttachWorkers Instance { get; } = new();
}

/// <summary>Coordinator to itself: plan and dispatch the next step.</summary>
internal sealed record BeginStep
{
    public static BeginStep Instance { get; } = new();
}

/// <summary>
/// Coordinator to itself, when the run's cancellation (SIGTERM, Ctrl-C) fires: between steps the loop sees
/// the stop itself; this reaches the states that wait for workers, which may never come.
/// </summary>
internal sealed record StopRequested
{
    public static StopRequested Instance { get; } = new();
}

/// <summary>Coordinator timer: the open step's deadline passed.</summary>
internal sealed record StepDeadlinePassed(long Step, int Generation);

/// <summary>
/// The coordinator singleton's termination message (instead of a PoisonPill): its node is leaving, so
/// it stops after the current step with a checkpoint, and only then lets the singleton move.
/// </summary>
public sealed record HandOver
{
    public static HandOver Instance { get; } = new();
}

/// <summary>Worker node → its worker (all-reduce mode): the run the replica holds, before the node drops it.</summary>
public sealed record TakeHeldRun
{
    public static TakeHeldRun Instance { get; } = new();
}

/// <summary>The answer to <see cref="TakeHeldRun"/>: null when the replica holds no run.</summary>
public sealed record HeldRun(Training.Parallel.ReplicaCopy? Copy);
