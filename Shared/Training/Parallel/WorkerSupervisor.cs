using RnnCluster.Actors;

namespace RnnCluster.Training.Parallel;

/// <summary>
/// One per node: owns that node's workers. A failing worker is restarted with a fresh replica (the
/// coordinator retries its shard); after <c>parallel.max-worker-failures</c> within
/// <c>parallel.failure-window</c> it is stopped, and the coordinator re-plans its streams.
/// </summary>
public sealed class WorkerSupervisor : ReceiveActor
{
    private readonly IReadOnlyList<WorkerOptions> _workers;
    private readonly RestartLimit _limit;

    public WorkerSupervisor(IReadOnlyList<WorkerOptions> workers, RestartLimit limit)
    {
        _workers = workers;
        _limit = limit;
        ReceiveAny(message => Unhandled(message));
    }

    /// <summary>Name of worker <paramref name="index"/>'s actor under this supervisor.</summary>
    public static string WorkerName(int index) => $"worker-{index}";

    protected internal override void PreStart()
    {
        var workers = new List<(int Index, IActorRef Ref)>(_workers.Count);
        foreach (var w in _workers)
        {
            workers.Add((w.Index, Context.ActorOf(Props.Create(() => new WorkerActor(w)), WorkerName(w.Index))));
        }

        // The coordinator needs the refs to watch and address workers; they exist only from now on.
        Context.Parent.Tell(new WorkersReady(workers), Self);
    }

    protected internal override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(_ => Directive.Restart) { Limit = _limit };
}
