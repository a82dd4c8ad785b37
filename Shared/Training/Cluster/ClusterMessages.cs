using RnnCluster.Actors;
using RnnCluster.Training.Parallel;

namespace RnnCluster.Training.Cluster;

// Messages of the cluster coordinator on our own actor runtime (to be replaced by Akka.Cluster).

/// <summary>Asks the coordinator to run the whole training; it answers <see cref="TrainingFinished"/> or <see cref="TrainingAborted"/>.</summary>
public sealed record StartTraining(IActorRef ReplyTo);

public sealed record TrainingFinished(RunSummary Summary);

/// <summary>The run cannot go on (e.g. every worker was stopped); the reason names what happened.</summary>
public sealed record TrainingAborted(Exception Reason);

/// <summary>Coordinator to itself: plan and dispatch the next window.</summary>
internal sealed record BeginStep
{
    public static BeginStep Instance { get; } = new();
}

/// <summary>Coordinator timer: the step's deadline passed.</summary>
internal sealed record StepDeadlinePassed(long Step, int Generation, int Attempt);

/// <summary>Worker supervisor → coordinator: the node's workers exist and can be watched.</summary>
public sealed record WorkersReady(IReadOnlyList<(int Index, IActorRef Ref)> Workers);
