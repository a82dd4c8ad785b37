using Akka.Actor;
using RnnCluster.Training.Parallel;

namespace RnnCluster.Parallel;

/// <summary>
/// Owns the workers of one coordinator incarnation. A failing worker is restarted with a fresh replica
/// (the coordinator retries its shard); after <c>parallel.max-worker-failures</c> failures within
/// <c>parallel.failure-window</c> it is stopped instead, and the coordinator, which watches it, re-plans
/// its streams. (Akka measures that window on the real clock, not on an injected one.)
/// </summary>
public sealed class WorkerSupervisor : ReceiveActor
{
    private readonly IReadOnlyList<WorkerOptions> _workers;
    private readonly int _maxFailures;
    private readonly TimeSpan _failureWindow;

    public WorkerSupervisor(IReadOnlyList<WorkerOptions> workers, int maxFailures, TimeSpan failureWindow)
    {
        ArgumentNullException.ThrowIfNull(workers);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxFailures);
        _workers = workers;
        _maxFailures = maxFailures;
        _failureWindow = failureWindow;
    }

    /// <summary>Name of worker <paramref name="index"/>'s actor under this supervisor.</summary>
    public static string WorkerName(int index) => $"worker-{index}";

    protected override void PreStart()
    {
        var coordinator = Context.Parent;
        var workers = new List<(int Index, IActorRef Ref)>(_workers.Count);
        foreach (var w in _workers)
        {
            workers.Add((w.Index, Context.ActorOf(Props.Create(() => new WorkerActor(w, coordinator)), WorkerName(w.Index))));
        }

        // The coordinator needs the refs to watch and address workers; they exist only from now on.
        coordinator.Tell(new WorkersReady(workers));
    }

    // The Nth failure within the window stops the worker: N - 1 restarts are allowed.
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(_maxFailures - 1, _failureWindow, _ => Directive.Restart);
}
