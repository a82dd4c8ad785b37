using RnnCluster.Actors;
using RnnCluster.Training.Parallel;

namespace RnnCluster.Training.Cluster;

/// <summary>
/// A worker node's replica on our own actor runtime: computes the shards the cluster coordinator
/// sends with a <see cref="WorkerReplica"/> on its own compute thread. Any failure throws: the
/// supervisor restarts it with a fresh replica and the node agent tells the coordinator.
/// </summary>
public sealed class ReplicaActor : ReceiveActor
{
    private readonly WorkerOptions _options;
    private ComputeThread? _thread;
    private WorkerReplica? _replica;

    public ReplicaActor(WorkerOptions options)
    {
        _options = options;
        ReceiveAsync<ComputeWindow>(async w =>
        {
            var replyTo = Sender;
            var replica = _replica!;
            var (reply, _) = await _thread!.RunAsync(() => replica.Compute(w)).ConfigureAwait(true);
            replyTo?.Tell(reply, Self);
        });
        ReceiveAsync<ComputeBatch>(async b =>
        {
            var replyTo = Sender;
            var replica = _replica!;
            var (reply, _) = await _thread!.RunAsync(() => replica.Compute(b)).ConfigureAwait(true);
            replyTo?.Tell(reply, Self);
        });
    }

    protected internal override void PreStart()
    {
        _thread = new ComputeThread($"rnncluster-worker-{_options.Index}");
        _replica = new WorkerReplica(_options);
    }

    protected internal override void PostStop()
    {
        // The thread first: the replica must not be freed under a step still computing.
        _thread?.Dispose();
        _thread = null;
        _replica?.Dispose();
        _replica = null;
    }
}
