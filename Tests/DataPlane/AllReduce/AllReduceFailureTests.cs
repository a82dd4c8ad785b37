using RnnCluster.DataPlane.AllReduce;
using RnnCluster.DataPlane.Tensors;
using RnnCluster.Tests.DataPlane.Tensors;
using static RnnCluster.Tests.DataPlane.AllReduce.AllReduceData;

namespace RnnCluster.Tests.DataPlane.AllReduce;

/// <summary>A group never hangs: a lost, silent or misbehaving peer abandons it, named, within the timeout.</summary>
[Collection(TensorFixture.Collection)]
public sealed class AllReduceFailureTests
{
    private const string Run = "run-f";

    [Fact]
    public async Task A_member_disposed_mid_all_reduce_makes_the_others_throw_naming_it()
    {
        await using var mesh = await Mesh.FormAsync(3, new AllReduceOptions { BucketFloats = 64 }, name: "gone");
        var buffers = Contributions(3, 1000, seed: 1);
        var waiting = new[] { 0, 1 }.Select(r => mesh.Groups[r].AllReduceAsync(buffers[r], 1, 0, 0, CancellationToken.None)).ToList();

        await mesh.Groups[2].DisposeAsync();
        await mesh.Nodes[2].Transport.DisposeAsync();

        var gone = mesh.Nodes[2].Transport.Identity;
        foreach (var call in waiting)
        {
            var error = await Assert.ThrowsAsync<AllReduceAbandonedException>(() => call.WaitAsync(TensorFixture.WaitLimit));
            AssertNames(error, 2, gone);
            Assert.Equal(1, error.Generation);
        }

        // Dead for good: later calls throw at once.
        await Assert.ThrowsAsync<AllReduceAbandonedException>(() => mesh.Groups[0].AllGatherAsync(new float[1], 2, 0, CancellationToken.None));
        await mesh.Nodes[0].Logs.WaitForAsync(MeshNode.Abandoned, timeout: TensorFixture.WaitLimit);
    }

    [Fact]
    public async Task A_member_that_never_joins_the_call_makes_the_others_throw_a_timeout_naming_it()
    {
        var timeout = TimeSpan.FromSeconds(1);
        await using var mesh = await Mesh.FormAsync(3, new AllReduceOptions { BucketFloats = 64, TransferTimeout = timeout }, name: "silent");
        var buffers = Contributions(3, 500, seed: 2);
        var started = TimeProvider.System.GetTimestamp();
        var waiting = new[] { 0, 1 }.Select(r => mesh.Groups[r].AllReduceAsync(buffers[r], 1, 0, 0, CancellationToken.None)).ToList();

        foreach (var call in waiting)
        {
            var error = await Assert.ThrowsAsync<AllReduceAbandonedException>(() => call.WaitAsync(TensorFixture.WaitLimit));
            AssertNames(error, 2, mesh.Nodes[2].Transport.Identity);
        }

        Assert.InRange(TimeProvider.System.GetElapsedTime(started), timeout, timeout * 10);
        Assert.Contains(new[] { mesh.Groups[0], mesh.Groups[1] }, g => g.Abandoned is { Reason: AbandonReason.Timeout, PeerRank: 2 });
    }

    [Fact]
    public async Task Cancelling_a_call_throws_at_once_and_abandons_the_group_for_every_member()
    {
        await using var mesh = await Mesh.FormAsync(2, name: "cancel");
        using var cts = new CancellationTokenSource();
        var call = mesh.Groups[0].AllReduceAsync(new float[100], 1, 0, 0, cts.Token);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(TensorFixture.WaitLimit));
        var here = await Assert.ThrowsAsync<AllReduceAbandonedException>(() => mesh.Groups[0].AllReduceAsync(new float[100], 2, 0, 0, CancellationToken.None));
        Assert.Equal(AbandonReason.Local, here.Reason);
        var there = await Assert.ThrowsAsync<AllReduceAbandonedException>(() => mesh.Groups[1].AllReduceAsync(new float[100], 1, 0, 0, CancellationToken.None).WaitAsync(TensorFixture.WaitLimit));
        AssertNames(there, 0, mesh.Nodes[0].Transport.Identity);
    }

    [Fact]
    public async Task A_member_killed_mid_all_reduce_is_named_as_soon_as_its_connection_resets()
    {
        await using var node = await MeshNode.StartAsync("survivor");
        var (forming, raw) = await FormWithRawPeerAsync(node);
        using var _ = raw;
        await using var group = await forming;
        var call = group.AllReduceAsync(new float[3000], 1, 0, 0, CancellationToken.None);

        raw.Reset(); // what the kernel does for a killed process: a reset, no goodbye

        var error = await Assert.ThrowsAsync<AllReduceAbandonedException>(() => call.WaitAsync(TensorFixture.WaitLimit));
        Assert.Equal((1, raw.Identity, AbandonReason.ConnectionEnded), (error.PeerRank, error.Peer, error.Reason));
        Assert.Contains("ClosedWithoutGoodbye", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string> BadFrames => new() { "corrupted", "truncated", "wrong layout" };

    [Theory]
    [MemberData(nameof(BadFrames))]
    public async Task A_bad_frame_is_refused_and_the_call_throws_naming_the_peer(string bad)
    {
        await using var node = await MeshNode.StartAsync("victim");
        var (forming, raw) = await FormWithRawPeerAsync(node);
        using var _ = raw;
        await using var group = await forming;
        var call = group.AllReduceAsync(new float[3000], 1, 0, 0, CancellationToken.None);

        // Rank 0 owns floats [0, 1500) of the one bucket: rank 1's contribution is 1500 floats at offset 0.
        var (length, spoil) = bad switch
        {
            "corrupted" => (1500, RawMember.Corrupt),
            "truncated" => (1500, RawMember.Truncate),
            _ => (1499, (Func<IReadOnlyList<RnnCluster.DataPlane.Protocol.Frame>, IReadOnlyList<RnnCluster.DataPlane.Protocol.Frame>>?)null),
        };
        var header = RawMember.Header(TensorKind.AllReduceContribution, Run, 1, 1, 1, 0, ("segment", 0), ("bucket", 0), ("offset", 0), ("length", length), ("total", 3000));
        await RawMember.SendAsync(raw, header, Gradients(length, seed: 1), spoil);

        var error = await Assert.ThrowsAsync<AllReduceAbandonedException>(() => call.WaitAsync(TensorFixture.WaitLimit));
        Assert.Equal((1, raw.Identity, AbandonReason.BadFrame), (error.PeerRank, error.Peer, error.Reason));
        Assert.Contains(bad switch { "corrupted" => "checksum", "truncated" => "the transfer declared", _ => "matches no shard" }, error.Message, StringComparison.Ordinal);
        raw.Dispose(); // before the group: its goodbye would otherwise wait out the close timeout for a reply the raw peer never sends
    }

    [Fact]
    public async Task A_frame_of_an_older_step_is_dropped_with_a_log_line_and_never_summed()
    {
        await using var node = await MeshNode.StartAsync("stale");
        var (forming, raw) = await FormWithRawPeerAsync(node);
        using var _ = raw;
        await using var group = await forming;
        float[] buffer = [1, 2, 3, 4];
        var call = group.AllReduceAsync(buffer, 5, 1, 0, CancellationToken.None);

        // Rank 0 owns [0, 2), rank 1 (the raw member) [2, 4). An old attempt's contribution first, then this attempt's and the sum of [2, 4).
        (string, double)[] mine = [("segment", 0), ("bucket", 0), ("offset", 0), ("length", 2), ("total", 4)];
        await RawMember.SendAsync(raw, RawMember.Header(TensorKind.AllReduceContribution, Run, 1, 1, 5, 0, mine), [1000, 1000]);
        await RawMember.SendAsync(raw, RawMember.Header(TensorKind.AllReduceContribution, Run, 1, 1, 5, 1, mine), [10, 20]);
        await RawMember.SendAsync(raw, RawMember.Header(TensorKind.AllReduceSum, Run, 1, 1, 5, 1, ("segment", 0), ("bucket", 0), ("offset", 2), ("length", 2), ("total", 4)), [33, 44]);

        await call.WaitAsync(TensorFixture.WaitLimit);
        Assert.Equal([11f, 22f, 33f, 44f], buffer);
        await node.Logs.WaitForAsync(MeshNode.StaleFrame, "step 5, attempt 0", TensorFixture.WaitLimit);
        raw.Dispose();
    }

    /// <summary>
    /// A peer that connects and says hello but never answers this member's shared-memory offer (alive, not
    /// reading) fails the forming within its timeout, named, rather than leaving the group to guess which
    /// way its tensors will go.
    /// </summary>
    [Fact]
    public async Task A_peer_that_never_answers_the_shared_memory_offer_fails_the_forming_naming_it()
    {
        await using var node = await MeshNode.StartAsync("offering", o => o with { SharedMemory = new SharedMemoryOptions { RingBytes = 256 * 1024 } });
        using var raw = await RawPeer.ConnectAsync(node.Transport);
        var members = new[] { node.Member(0), new GroupMember(1, raw.Identity, new RnnCluster.DataPlane.DataPlaneEndPoint("127.0.0.1", 1)) };
        var forming = node.FormAsync(Run, 1, 0, members, new AllReduceOptions { OneConnectionPerPair = true, FormTimeout = TimeSpan.FromMilliseconds(500) });
        await RawMember.SendAsync(raw, RawMember.Header(TensorKind.AllReduceHello, Run, 1, 1, values: ("to", 0)), []);

        var error = await Assert.ThrowsAsync<AllReduceAbandonedException>(() => forming.WaitAsync(TensorFixture.WaitLimit));
        Assert.Equal((1, AbandonReason.Timeout), (error.PeerRank, error.Reason));
        Assert.Contains("no answer to the shared-memory offer", error.Message, StringComparison.Ordinal);
        raw.Dispose();
    }

    /// <summary>
    /// Starts forming a group of two on <paramref name="node"/> (rank 0) whose rank 1 is a raw WebSocket
    /// peer, and has the raw peer say hello; the returned task completes once the group took it.
    /// </summary>
    private static async Task<(Task<GradientGroup> Forming, RawPeer Raw)> FormWithRawPeerAsync(MeshNode node)
    {
        var raw = await RawPeer.ConnectAsync(node.Transport);
        var members = new[] { node.Member(0), new GroupMember(1, raw.Identity, new RnnCluster.DataPlane.DataPlaneEndPoint("127.0.0.1", 1)) };
        // The raw member only dials (it listens nowhere): one connection per pair, the way it speaks.
        var forming = node.FormAsync(Run, 1, 0, members, new AllReduceOptions { BucketFloats = 1 << 20, OneConnectionPerPair = true });
        await RawMember.SendAsync(raw, RawMember.Header(TensorKind.AllReduceHello, Run, 1, 1, values: ("to", 0)), []);
        await forming.WaitAsync(TensorFixture.WaitLimit);
        return (forming, raw);
    }

    /// <summary>The peer named is the one at fault, or (when another member noticed first and closed its connections) the message names it as the cause.</summary>
    private static void AssertNames(AllReduceAbandonedException error, int rank, RnnCluster.DataPlane.NodeIdentity identity)
    {
        Assert.True(
            (error.PeerRank == rank && error.Peer == identity) || error.Detail.Contains($"peer rank {rank}", StringComparison.Ordinal),
            $"expected the error to name rank {rank} ({identity}): {error.Message}");
    }
}
