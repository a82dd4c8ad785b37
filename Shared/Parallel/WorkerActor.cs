using Akka.Actor;
using RnnCluster.Training;
using RnnCluster.Training.Parallel;

namespace RnnCluster.Parallel;

/// <summary>
/// Holds one model replica (<see cref="WorkerReplica"/>) and computes the shards the coordinator sends,
/// on its own compute thread, never on the thread pool that runs the actors. Any failure throws: the
/// supervisor restarts the worker with a fresh replica, and the worker tells the coordinator on its
/// way down (<see cref="ShardFailed"/>) so the shard is retried.
/// </summary>
public sealed class WorkerActor : ReceiveActor
{
    private readonly WorkerOptions _options;
    private readonly IActorRef _coordinator;
    private ComputeThread? _thread;
    private WorkerReplica? _replica;
    private long _step = -1;
    private (IActorRef To, WindowGradients Reply)? _heldBack;

    public WorkerActor(WorkerOptions options, IActorRef coordinator)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _coordinator = coordinator;
        // The actor waits for its compute thread and handles nothing else meanwhile (ReceiveAsync).
        ReceiveAsync<ComputeWindow>(w => ComputeAsync(w.Step, replica => replica.Compute(w)));
        ReceiveAsync<ComputeBatch>(b => ComputeAsync(b.Step, replica => replica.Compute(b)));
        // All-reduce mode: the replica holds the run; the coordinator and the node read copies of it.
        ReceiveAsync<FetchReplica>(f => CopyAsync(replica => replica.Copy(f)));
        ReceiveAsync<TakeHeldRun>(_ => CopyAsync(replica => new HeldRun(replica.Held())));
    }

    protected override void PreStart()
    {
        _thread = new ComputeThread($"rnncluster-worker-{_options.Index}");
        _replica = new WorkerReplica(_options);
    }

    protected override void PreRestart(Exception reason, object message)
    {
        _coordinator.Tell(new ShardFailed(_options.Index, _step, reason.Message, reason is NonFiniteGradientException));
        base.PreRestart(reason, message);
    }

    protected override void PostStop()
    {
        // The thread first: the replica must not be freed under a step still computing.
        _thread?.Dispose();
        _thread = null;
        _replica?.Dispose();
        _replica = null;
    }

    private async Task ComputeAsync(long step, Func<WorkerReplica, (WindowGradients Reply, WorkerFaultKind? Fault)> compute)
    {
        var replyTo = Sender;
        _step = step;
        var replica = _replica!;
        var (reply, fault) = await _thread!.RunAsync(() => compute(replica)).ConfigureAwait(true);
        Deliver(replyTo, reply, fault);
    }

    /// <summary>A copy made on the compute thread; a replica that cannot give one answers a failure (it is not broken).</summary>
    private async Task CopyAsync(Func<WorkerReplica, object> copy)
    {
        var replyTo = Sender;
        var replica = _replica!;
        try
        {
            replyTo.Tell(await _thread!.RunAsync(() => copy(replica)).ConfigureAwait(true), Self);
        }
        catch (InvalidOperationException e)
        {
            replyTo.Tell(new Status.Failure(e), Self);
        }
    }

    /// <summary>Sends a reply in the actor's turn, applying the test-only straggler faults.</summary>
    private void Deliver(IActorRef replyTo, WindowGradients reply, WorkerFaultKind? fault)
    {
        if (_heldBack is { } late)
        {
            _heldBack = null;
            // Empty gradients: the coordinator must refuse this stale reply; accepting it would fail loudly.
            late.To.Tell(late.Reply with { Gradients = [] }, Self);
        }

        switch (fault)
        {
            case WorkerFaultKind.NoReply:
                break;
            case WorkerFaultKind.ReplyLate:
                _heldBack = (replyTo, reply);
                break;
            default:
                replyTo.Tell(reply, Self);
                break;
        }
    }
}
