using RnnCluster.DataPlane;
using RnnCluster.DataPlane.AllReduce;
using RnnCluster.DataPlane.Tensors;
using RnnCluster.Tests.DataPlane.Tensors;
using static RnnCluster.Tests.DataPlane.AllReduce.AllReduceData;

namespace RnnCluster.Tests.DataPlane.AllReduce;

/// <summary>Groups of 2, 3 and 4 members on loopback: every member ends with the same bits, the rank-order sum.</summary>
[Collection(TensorFixture.Collection)]
public sealed class AllReduceTests
{
    private const int Bucket = 64;

    public static TheoryData<int> Sizes => new() { 2, 3, 4 };

    [Theory]
    [MemberData(nameof(Sizes))]
    public async Task Every_member_ends_with_the_rank_order_sum_bit_for_bit_for_odd_sizes_and_several_buckets(int size)
    {
        await using var mesh = await Mesh.FormAsync(size, new AllReduceOptions { BucketFloats = Bucket }, name: $"sum{size}-");
        int[] lengths = [1, 7, size - 1, Bucket - 1, Bucket, Bucket + 1, (5 * Bucket) + 3, 10_000];
        await AssertRankOrderSumsAsync(mesh, lengths);

        // Each member sends every other owner its part of their shards and its own shard's sum to every other member:
        // (L - own) + own * (W-1) floats per bucket, about 2(W-1)/W of the buffer; and receives as much in total.
        foreach (var group in mesh.Groups)
        {
            long floats = 0;
            foreach (var length in lengths.Where(l => l > 0))
            {
                for (var start = 0; start < length; start += Bucket)
                {
                    var bucket = Math.Min(Bucket, length - start);
                    var own = (bucket * (group.Rank + 1) / size) - (bucket * group.Rank / size);
                    floats += bucket - own + (own * (size - 1L));
                }
            }

            Assert.Equal(floats * sizeof(float), group.BytesSent);
        }

        Assert.Equal(mesh.Groups.Sum(g => g.BytesSent), mesh.Groups.Sum(g => g.BytesReceived));
    }

    /// <summary>
    /// Members of one host move their shards through shared memory (every payload here, however small):
    /// the same rank-order sum, bit for bit, as over the sockets, for the same odd sizes and bucket edges.
    /// </summary>
    [Theory]
    [MemberData(nameof(Sizes))]
    public async Task Through_shared_memory_every_member_ends_with_the_same_rank_order_sum_bit_for_bit(int size)
    {
        await using var mesh = await Mesh.FormAsync(
            size, new AllReduceOptions { BucketFloats = Bucket }, name: $"shm{size}-",
            transport: o => o with { SharedMemory = new SharedMemoryOptions { RingBytes = 256 * 1024, MinPayloadBytes = 4 } });
        await AssertRankOrderSumsAsync(mesh, [1, 7, size - 1, Bucket - 1, Bucket, Bucket + 1, (5 * Bucket) + 3, 10_000, 100_003]);

        // Forming settled the rings: every member sent through them (a payload that found its ring full went inline).
        foreach (var group in mesh.Groups)
        {
            Assert.InRange(group.SharedBytesSent, 1, group.BytesSent);
        }
    }

    [Fact]
    public async Task The_rank_order_sum_differs_from_another_order_for_these_values_so_the_checks_mean_something()
    {
        var contributions = Contributions(4, 10_000, seed: 5);
        var forward = RankOrderSum(contributions);
        var backward = RankOrderSum([.. contributions.Reverse()]);
        Assert.False(forward.AsSpan().SequenceEqual(backward));
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Two_segments_in_flight_at_once_each_end_with_their_own_sum_even_when_members_start_them_in_different_orders()
    {
        await using var mesh = await Mesh.FormAsync(3, new AllReduceOptions { BucketFloats = 100 }, name: "seg");
        var upper = Contributions(3, 1000, seed: 1);
        var lower = Contributions(3, 333, seed: 2);
        var upperBuffers = upper.Select(c => (float[])c.Clone()).ToArray();
        var lowerBuffers = lower.Select(c => (float[])c.Clone()).ToArray();
        var calls = new List<Task>();
        for (var r = 0; r < 3; r++)
        {
            var group = mesh.Groups[r];
            var upperCall = () => group.AllReduceAsync(upperBuffers[group.Rank], step: 7, attempt: 0, segment: 1, CancellationToken.None);
            var lowerCall = () => group.AllReduceAsync(lowerBuffers[group.Rank], step: 7, attempt: 0, segment: 0, CancellationToken.None);

            // Rank 1 starts the lower segment first, the others the upper: frames of a call not started yet are held, not lost.
            calls.AddRange(r == 1 ? [lowerCall(), upperCall()] : [upperCall(), lowerCall()]);
        }

        await Task.WhenAll(calls).WaitAsync(TensorFixture.WaitLimit);
        AssertAllEqual(RankOrderSum(upper), upperBuffers);
        AssertAllEqual(RankOrderSum(lower), lowerBuffers);
    }

    [Fact]
    public async Task A_member_ahead_by_a_step_is_held_until_the_others_get_there()
    {
        await using var mesh = await Mesh.FormAsync(2, new AllReduceOptions { BucketFloats = 16 }, name: "ahead");
        var first = Contributions(2, 50, seed: 3);
        var second = Contributions(2, 50, seed: 4);
        var buffers0 = first.Select(c => (float[])c.Clone()).ToArray();
        var buffers1 = second.Select(c => (float[])c.Clone()).ToArray();

        var slow = mesh.Groups[0].AllReduceAsync(buffers0[0], 1, 0, 0, CancellationToken.None);
        var fast = Task.Run(async () =>
        {
            await mesh.Groups[1].AllReduceAsync(buffers0[1], 1, 0, 0, CancellationToken.None);
            await mesh.Groups[1].AllReduceAsync(buffers1[1], 2, 0, 0, CancellationToken.None);
        });
        await slow.WaitAsync(TensorFixture.WaitLimit);
        await mesh.Groups[0].AllReduceAsync(buffers1[0], 2, 0, 0, CancellationToken.None).WaitAsync(TensorFixture.WaitLimit);
        await fast.WaitAsync(TensorFixture.WaitLimit);

        AssertAllEqual(RankOrderSum(first), buffers0);
        AssertAllEqual(RankOrderSum(second), buffers1);
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public async Task AllGather_returns_every_members_vector_in_rank_order_whatever_their_lengths(int size)
    {
        await using var mesh = await Mesh.FormAsync(size, name: $"gather{size}-");
        var vectors = Enumerable.Range(0, size).Select(r => Gradients(r * 3, seed: r)).ToArray(); // rank 0's is empty
        var results = await Task.WhenAll(mesh.Groups.Select(g => g.AllGatherAsync(vectors[g.Rank], step: 1, attempt: 0, CancellationToken.None))).WaitAsync(TensorFixture.WaitLimit);

        foreach (var result in results)
        {
            Assert.Equal(size, result.Length);
            for (var r = 0; r < size; r++)
            {
                TensorFixture.AssertBitExact(vectors[r], result[r]);
            }
        }
    }

    [Fact]
    public async Task A_bf16_all_reduce_is_bit_identical_on_every_member_and_equals_the_rounded_rank_order_sum()
    {
        const int size = 3;
        await using var mesh = await Mesh.FormAsync(size, new AllReduceOptions { BucketFloats = 50, Compression = GradientCompression.BFloat16 }, name: "bf");
        var plain = await Mesh.FormAsync(size, new AllReduceOptions { BucketFloats = 50 }, name: "fp");
        await using var _ = plain;
        foreach (var length in new[] { 1, 2, 3, 49, 51, 1001 })
        {
            var contributions = Contributions(size, length, seed: length + 100);
            var results = await mesh.AllReduceAsync(contributions, step: length);
            AssertAllEqual(BFloat16RankOrderSum(contributions), results);
            Assert.All(results[0], v => Assert.Equal(0u, BitConverter.SingleToUInt32Bits(v) & 0xFFFF));
        }

        // Half the bytes of fp32 (and up to half a slot more per frame, for odd shard lengths).
        await plain.AllReduceAsync(Contributions(size, 1001, seed: 9), step: 1);
        var bf16Bytes = mesh.Groups[0].BytesSent;
        await mesh.AllReduceAsync(Contributions(size, 1001, seed: 9), step: 2000);
        Assert.InRange(mesh.Groups[0].BytesSent - bf16Bytes, plain.Groups[0].BytesSent / 2, (plain.Groups[0].BytesSent / 2) + 512);
    }

    [Fact]
    public async Task A_group_of_one_needs_no_connection_reduces_to_itself_and_gathers_its_own_vector()
    {
        await using var node = await MeshNode.StartAsync("alone");
        await using var group = await node.FormAsync("run-1", 3, 0, [node.Member(0)], new AllReduceOptions());
        var buffer = Gradients(100, seed: 1);
        var before = (float[])buffer.Clone();

        await group.AllReduceAsync(buffer, 1, 0, 0, CancellationToken.None);
        var gathered = await group.AllGatherAsync(new float[] { 1, 2 }, 1, 0, CancellationToken.None);

        TensorFixture.AssertBitExact(before, buffer);
        Assert.Equal([1f, 2f], Assert.Single(gathered));
        Assert.Empty(node.Transport.Connections);
        Assert.Equal((1, 3), (group.Size, group.Generation));
    }

    [Fact]
    public async Task Forming_refuses_member_lists_that_are_not_in_rank_order_or_do_not_name_this_node()
    {
        await using var node = await MeshNode.StartAsync("lists");
        var other = new GroupMember(1, new NodeIdentity("rnn://other@127.0.0.1", 1), new DataPlaneEndPoint("127.0.0.1", 1));
        await Assert.ThrowsAsync<ArgumentException>(() => node.FormAsync("run-1", 1, 0, [other with { Rank = 0 }, node.Member(1)], new AllReduceOptions()));
        await Assert.ThrowsAsync<ArgumentException>(() => node.FormAsync("run-1", 1, 0, [node.Member(1), other with { Rank = 0 }], new AllReduceOptions()));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => node.FormAsync("run-1", 1, 0, [node.Member(0)], new AllReduceOptions { BucketFloats = 0 }));
    }

    /// <summary>One all-reduce per length (steps 1, 2, …): every member ends with the rank-order sum, bit for bit.</summary>
    private static async Task AssertRankOrderSumsAsync(Mesh mesh, int[] lengths)
    {
        var step = 0L;
        foreach (var length in lengths.Where(l => l > 0))
        {
            var contributions = Contributions(mesh.Size, length, seed: length);
            var results = await mesh.AllReduceAsync(contributions, ++step);
            AssertAllEqual(RankOrderSum(contributions), results);
        }
    }
}
