using RnnCluster.Tests.Support;
using RnnCluster.Training;
using RnnCluster.Training.Parallel;

namespace RnnCluster.Tests.Parallel;

/// <summary>
/// What an all-reducing worker's transfer is made of, and how the coordinator splits off the part that was
/// waiting for a slower peer's backward: a window's token count is reduced beside forward, so the time after
/// backward is the reductions that must follow it, and the wait for the slowest member comes from the
/// replies' compute times.
/// </summary>
public sealed class WorkerReplicaTransferSplitTests
{
    private static readonly TimeSpan PerReduction = TimeSpan.FromMilliseconds(20);

    [Fact]
    public async Task A_windows_transfer_is_only_the_reductions_after_backward_its_token_count_went_beside_forward()
    {
        var clock = new ManualTimeProvider();
        using var first = await FirstWindow.StartAsync(clock);
        var group = new TimedGroup(clock);

        var (reply, _) = first.Replica.Compute(first.In(group));

        Assert.False(reply.Abandoned);
        Assert.True(group.BlockingReductions > 0, "the embedding rows are reduced after backward");
        Assert.DoesNotContain(1, group.BlockingSegments);
        Assert.Contains(1, group.StartedSegments);
        Assert.Equal((PerReduction * group.BlockingReductions).TotalSeconds, reply.CopySeconds, 9);
    }

    [Fact]
    public void The_peer_wait_is_how_much_later_the_slowest_backward_ended_than_the_longest_transfers_own()
    {
        WindowGradients Reply(int worker, double compute, double copy) =>
            new(5, 1, 0, worker, 1, 10, [], [], ComputeSeconds: compute, CopySeconds: copy);

        // Worker 0 ended its backward 30 ms before worker 1 and then waited for it.
        Assert.Equal(0.030, StepTimeSplit.PeerWait([Reply(0, 0.100, 0.050), Reply(1, 0.130, 0.010)]), 9);

        // Never more than the transfer it is part of, never negative, nothing without peers.
        Assert.Equal(0.050, StepTimeSplit.PeerWait([Reply(0, 0.100, 0.050), Reply(1, 0.180, 0.010)]), 9);
        Assert.Equal(0, StepTimeSplit.PeerWait([Reply(0, 0.150, 0.050), Reply(1, 0.130, 0.010)]), 9);
        Assert.Equal(0, StepTimeSplit.PeerWait([Reply(0, 0.100, 0.050)]), 9);
        Assert.Equal(0, StepTimeSplit.PeerWait([]), 9);
    }

    /// <summary>A group of one whose blocking reductions each take <see cref="PerReduction"/> on the test's clock; the ones started in the background end at once.</summary>
    private sealed class TimedGroup(ManualTimeProvider clock) : IGradientExchange
    {
        public int Rank => 0;

        public int Size => 1;

        public int BlockingReductions => BlockingSegments.Count;

        public List<int> BlockingSegments { get; } = [];

        public List<int> StartedSegments { get; } = [];

        public void AllReduce(Memory<float> values, long step, int segment)
        {
            BlockingSegments.Add(segment);
            clock.Advance(PerReduction);
        }

        public Task AllReduceAsync(Memory<float> values, long step, int segment)
        {
            StartedSegments.Add(segment);
            return Task.CompletedTask;
        }

        public float[][] AllGather(float[] mine, long step) => [mine];
    }
}
