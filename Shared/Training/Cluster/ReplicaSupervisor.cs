using RnnCluster.Actors;
using RnnCluster.Training.Parallel;

namespace RnnCluster.Training.Cluster;

/// <summary>
/// On a worker node (our own actor runtime): owns the node's replica actor. A failing replica is
/// restarted with a fresh model (the coordinator retries its shard); after
/// <c>parallel.max-worker-failures</c> within <c>parallel.failure-window</c> it is stopped.
/// </summary>
public sealed class ReplicaSupervisor : ReceiveActor
{
    private readonly IReadOnlyList<WorkerOptions> _workers;
    private readonly RestartLimit _limit;

    public ReplicaSupervisor(IReadOnlyList<WorkerOptions> workers, RestartLimit limit)
    {
        _workers = workers;
        _limit = limit;
        ReceiveAny(message => Unhandled(message));
    }

    protected internal override void PreStart()
    {
        var workers = new List<(int Index, IActorRef Ref)>(_workers.Count);
        foreach (var w in _workers)
        {
            workers.Add((w.Index, Context.ActorOf(Props.Create(() => new ReplicaActor(w)), $"worker-{w.Index}")));
        }

        Context.Parent.Tell(new WorkersReady(workers), Self);
    }

    protected internal override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(_ => Directive.Restart) { Limit = _limit };
}
