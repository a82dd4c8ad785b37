using RnnCluster.Tests.Support;
using RnnCluster.Training.Parallel;

namespace RnnCluster.Tests.Parallel;

/// <summary>
/// What an all-reducing worker reports of the time after its own backward: the wait until every member has
/// finished its backward (the token-count reduction ends only then) apart from the reductions that follow,
/// so a faster worker's "transfer" no longer passes the slower one's compute off as communication.
/// </summary>
public sealed class WorkerReplicaTransferSplitTests
{
    private static readonly TimeSpan PeerLag = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan PerReduction = TimeSpan.FromMilliseconds(20);

    [Fact]
    public async Task A_worker_reports_the_wait_for_its_slowest_peer_apart_from_the_reductions_after_it()
    {
        var clock = new ManualTimeProvider();
        using var first = await FirstWindow.StartAsync(clock);
        var group = new LaggingPeerGroup(clock);

        // The command seeds the replica (it carries the parameters) and names a group of one whose count
        // reduction ends PeerLag after backward, as if a peer were still computing.
        var (reply, _) = first.Replica.Compute(first.In(group));

        Assert.False(reply.Abandoned);
        Assert.True(group.LaterReductions > 0, "the embedding rows are reduced after the count");
        Assert.Equal(PeerLag.TotalSeconds, reply.PeerWaitSeconds, 9);
        Assert.Equal((PeerLag + (PerReduction * group.LaterReductions)).TotalSeconds, reply.CopySeconds, 9);
    }

    /// <summary>
    /// A group of one whose blocking reductions take time on the test's clock: the token count (the first
    /// reduction after backward) <see cref="PeerLag"/>, each later one <see cref="PerReduction"/>. The
    /// reductions started during backward end at once.
    /// </summary>
    private sealed class LaggingPeerGroup(ManualTimeProvider clock) : IGradientExchange
    {
        private bool _counted;

        public int Rank => 0;

        public int Size => 1;

        public int LaterReductions { get; private set; }

        public void AllReduce(Memory<float> values, long step, int segment)
        {
            if (!_counted)
            {
                _counted = true;
                clock.Advance(PeerLag);
                return;
            }

            LaterReductions++;
            clock.Advance(PerReduction);
        }

        public Task AllReduceAsync(Memory<float> values, long step, int segment) => Task.CompletedTask;

        public float[][] AllGather(float[] mine, long step) => [mine];
    }
}
