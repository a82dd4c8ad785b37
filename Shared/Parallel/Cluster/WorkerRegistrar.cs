using Akka.Actor;
using Akka.Cluster.Tools.Singleton;
using RnnCluster.Parallel.Cluster.Wire;

namespace RnnCluster.Parallel.Cluster;

/// <summary>
/// On a worker node: registers with the coordinator singleton through its proxy, again every
/// <c>retry</c> until answered — Akka delivers at most once, and until a crashed coordinator's node is
/// removed the proxy forwards into the void. One registrar serves one coordinator: when the data plane to
/// it is lost, the <see cref="WorkerNode"/> starts a new registrar (the next coordinator learns its
/// workers from their registrations). Tells its parent
/// the <see cref="WorkerAccepted"/> or <see cref="WorkerRefused"/> that answers its own incarnation, and
/// the coordinator's <see cref="RunFinished"/> (addressed to the registrar, the sender it knows).
/// </summary>
public sealed class WorkerRegistrar : ReceiveActor, IWithTimers
{
    private const string RetryTimer = "register";

    private readonly RegisterWorker _registration;
    private readonly TimeSpan _retry;
    private readonly IActorRef _proxy;
    private readonly IReadOnlyList<ActorSelection> _atSeeds;

    /// <param name="seeds">
    /// The seed nodes: registrations also go straight to the singleton's path on each of them. A
    /// coordinator restarted by its launcher forms a new cluster at its old address, which this node's
    /// cluster (and so the proxy) does not know; at the seed address the worker finds it anyway.
    /// </param>
    public WorkerRegistrar(RegisterWorker registration, TimeSpan retry, IReadOnlyList<Address>? seeds = null)
    {
        ArgumentNullException.ThrowIfNull(registration);
        _registration = registration;
        _retry = retry;
        _atSeeds = [.. (seeds ?? []).Select(s => Context.ActorSelection($"{s}/user/{CoordinatorSingleton.ManagerName}/singleton"))];
        _proxy = Context.ActorOf(
            ClusterSingletonProxy.Props($"/user/{CoordinatorSingleton.ManagerName}", ClusterSingletonProxySettings.Create(Context.System).WithRole(ClusterSystem.CoordinatorRole)),
            "coordinator-proxy");
        Become(Registering);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart() => Register();

    private void Registering()
    {
        Receive<Retry>(_ => Register());
        // A coordinator older than one this node already worked for is stale (fenced): its answer is ignored.
        Receive<WorkerAccepted>(a => a.Incarnation == _registration.Incarnation && a.Fence >= _registration.FenceSeen, a =>
        {
            Timers.Cancel(RetryTimer);
            Context.Parent.Tell(a);
            Become(Registered);
        });
        Receive<WorkerRefused>(r => r.Incarnation == _registration.Incarnation, r =>
        {
            Timers.Cancel(RetryTimer);
            Context.Parent.Tell(r);
        });
        Receive<WorkerAccepted>(_ => { });
        Receive<RunFinished>(f => Context.Parent.Tell(f));
    }

    private void Registered()
    {
        // An answer to an earlier retry: already registered.
        Receive<WorkerAccepted>(_ => { });
        Receive<Retry>(_ => { });
        Receive<RunFinished>(f => Context.Parent.Tell(f));
    }

    private void Register()
    {
        _proxy.Tell(_registration);
        foreach (var seed in _atSeeds)
        {
            seed.Tell(_registration);
        }

        Timers.StartSingleTimer(RetryTimer, Retry.Instance, _retry);
    }

    private sealed class Retry
    {
        public static Retry Instance { get; } = new();
    }
}
