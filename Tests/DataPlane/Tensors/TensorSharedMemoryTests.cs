using System.Net.WebSockets;
using Google.Protobuf;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Protocol;
using RnnCluster.DataPlane.Tensors;
using static RnnCluster.Tests.DataPlane.Tensors.TensorFixture;
using TensorHeader = RnnCluster.DataPlane.Tensors.TensorHeader;

namespace RnnCluster.Tests.DataPlane.Tensors;

/// <summary>
/// Tensors between two transports of one process through the shared-memory ring (<c>cluster.shared-memory</c>):
/// the same bits in the same order as over the socket, whether a payload fits the ring, finds it full, or is
/// too small to be worth it; a side without shared memory, or a peer whose ring cannot be opened, leaves the
/// connection on the socket; a peer that lies about its ring is refused.
/// </summary>
[Collection(TensorFixture.Collection)]
public sealed class TensorSharedMemoryTests
{
    private const long RingBytes = 1024 * 1024;

    private static readonly Func<TensorTransportOptions, TensorTransportOptions> Shared =
        o => o with { SharedMemory = new SharedMemoryOptions { RingBytes = RingBytes, MinPayloadBytes = 4096 } };

    [Fact]
    public async Task Tensors_of_every_size_arrive_bit_exact_and_in_order_through_the_ring_or_inline()
    {
        await using var pair = await SharedPair.ConnectAsync();
        var (ab, ba) = (pair.AtoB, pair.BtoA);

        // Small (inline), just at the threshold, a quarter of the ring, the whole ring, and over it (inline).
        int[] sizes = [0, 10, 1023, 1024, 65_536, 200_000, 262_144, 300_000, 70_000, 5];
        var sent = sizes.Select((n, i) => Floats(n, seed: i + 1)).ToArray();
        var expectedShared = sizes.Where(n => n * 4 >= 4096 && n * 4 <= RingBytes).Sum(n => (long)n * 4);

        // Sent one after another, each received before the next: the ring wraps around several times.
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < sent.Length; i++)
            {
                await ab.SendAsync(Header(step: i), sent[i]);
                using var got = await ReceiveAsync(ba);
                Assert.Equal(i, got.Header.Step);
                AssertBitExact(sent[i], got.Payload.Span);
            }
        }

        Assert.Equal(3 * expectedShared, ab.SharedBytesSent);
        Assert.Equal(0, ba.SharedBytesSent);
    }

    [Fact]
    public async Task A_ring_the_receiver_has_not_emptied_sends_inline_instead_of_waiting()
    {
        await using var pair = await SharedPair.ConnectAsync();
        var (ab, ba) = (pair.AtoB, pair.BtoA);

        // Ten 400 KB tensors, none received yet: at most two fit the 1 MiB ring before the receiver frees one,
        // the rest go over the socket; all arrive whole and in order.
        var sent = Enumerable.Range(0, 10).Select(i => Floats(100_000, seed: 50 + i)).ToArray();
        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < sent.Length; i++)
            {
                await ab.SendAsync(Header(step: i), sent[i]);
            }
        });

        for (var i = 0; i < sent.Length; i++)
        {
            using var got = await ReceiveAsync(ba);
            Assert.Equal(i, got.Header.Step);
            AssertBitExact(sent[i], got.Payload.Span);
        }

        await sending.WaitAsync(WaitLimit);
        Assert.InRange(ab.SharedBytesSent, 400_000, 10 * 400_000 - 1);
    }

    [Fact]
    public async Task A_side_without_shared_memory_declines_and_the_tensors_go_over_the_socket()
    {
        var (a, aLogs) = await StartAsync("a", Shared);
        await using var _a = a;
        var (b, _) = await StartAsync("b");
        await using var _b = b;
        var (ab, ba) = await ConnectAsync(a, b);
        Assert.False(await ab.SharedMemoryAnswered.WaitAsync(WaitLimit));
        Assert.False(await ba.SharedMemoryAnswered.WaitAsync(WaitLimit));
        var payload = Floats(100_000, seed: 3);
        await ab.SendAsync(Header(step: 1), payload);
        using (var got = await ReceiveAsync(ba))
        {
            AssertBitExact(payload, got.Payload.Span);
        }

        Assert.Equal(0, ab.SharedBytesSent);
        Assert.Contains(aLogs.Entries, e => e.EventId == 4314 && e.Message.Contains("does not use shared memory", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_ring_in_a_directory_that_cannot_hold_one_leaves_the_connection_on_the_socket()
    {
        var (a, aLogs) = await StartAsync("a", o => o with { SharedMemory = new SharedMemoryOptions { Directory = "/nonexistent-shm-dir" } });
        await using var _a = a;
        var (b, _) = await StartAsync("b", Shared);
        await using var _b = b;
        var (ab, ba) = await ConnectAsync(a, b);
        Assert.False(await ab.SharedMemoryAnswered.WaitAsync(WaitLimit));
        await AssertTransfersAsync(ab, ba, step: 1);
        Assert.Contains(aLogs.Entries, e => e.EventId == 4315 && e.Message.Contains("/nonexistent-shm-dir", StringComparison.Ordinal));
    }

    /// <summary>An offer whose cookie is not in the file (another host's process at the same /proc path, say) is declined, and nothing changes.</summary>
    [Fact]
    public async Task An_offer_of_a_file_with_another_cookie_is_declined()
    {
        var (server, _) = await StartAsync("server", Shared);
        await using var _s = server;
        var (raw, atServer) = await RawPeer.ConnectAcceptedAsync(server);
        using var _r = raw;
        using var ring = SharedRingForTest();
        var offer = await raw.ReceiveAsync(); // the server's own offer comes first
        Assert.Equal(Frame.BodyOneofCase.RingOffer, offer.BodyCase);

        await raw.SendAsync(new Frame { RingOffer = new RingOffer { Path = ring.Path, Cookie = ByteString.CopyFrom(new byte[16]), Capacity = (ulong)ring.Capacity } });
        var reply = await raw.ReceiveAsync();
        Assert.Equal(Frame.BodyOneofCase.RingReply, reply.BodyCase);
        Assert.False(reply.RingReply.Accepted);
        Assert.Contains("another cookie", reply.RingReply.Reason, StringComparison.Ordinal);
        Assert.Null(atServer.End);
    }

    [Fact]
    public async Task An_offer_of_a_path_outside_proc_is_refused()
    {
        var (server, logs) = await StartAsync("server", Shared);
        await using var _s = server;
        var (raw, atServer) = await RawPeer.ConnectAcceptedAsync(server);
        using var _r = raw;
        await raw.SendAsync(new Frame { RingOffer = new RingOffer { Path = "/etc/passwd", Cookie = ByteString.CopyFrom(new byte[16]), Capacity = RingBytes } });
        var end = await EndedAsync(atServer);
        Assert.Equal(ConnectionEndReason.FrameRefused, end.Reason);
        Assert.Contains("/etc/passwd", end.Detail, StringComparison.Ordinal);
        Assert.Contains(logs.Entries, e => e.EventId == FrameRefused);
    }

    /// <summary>An answer to an offer this side never made, or a second answer to the one it made, is refused.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_answer_to_no_offer_or_a_second_answer_is_refused(bool offered)
    {
        var (server, _) = await StartAsync("server", offered ? Shared : null);
        await using var _s = server;
        var (raw, atServer) = await RawPeer.ConnectAcceptedAsync(server);
        using var _r = raw;
        var answers = offered ? 2 : 1;
        if (offered)
        {
            Assert.Equal(Frame.BodyOneofCase.RingOffer, (await raw.ReceiveAsync()).BodyCase);
        }

        for (var i = 0; i < answers; i++)
        {
            await raw.SendAsync(new Frame { RingReply = new RingReply { Accepted = false, Reason = "raw" } });
        }

        var end = await EndedAsync(atServer);
        Assert.Equal(ConnectionEndReason.FrameRefused, end.Reason);
        Assert.Contains("ring reply to no offer of this side, or a second one", end.Detail, StringComparison.Ordinal);
        Assert.False(await atServer.SharedMemoryAnswered.WaitAsync(WaitLimit));
    }

    /// <summary>A tensor that says it lies in shared memory, from a peer whose ring this side never accepted, is refused.</summary>
    [Fact]
    public async Task A_tensor_in_shared_memory_without_an_accepted_ring_is_refused()
    {
        var (server, _) = await StartAsync("server", Shared);
        await using var _s = server;
        var (raw, atServer) = await RawPeer.ConnectAcceptedAsync(server);
        using var _r = raw;
        foreach (var frame in new ChunkWriter(FrameLimits.Default).Split(SharedTensorPrefix(new SharedSlice { Start = 0, Length = 4096 })))
        {
            await raw.SendAsync(frame);
        }

        var end = await EndedAsync(atServer);
        Assert.Equal(ConnectionEndReason.FrameRefused, end.Reason);
        Assert.Contains("shared memory", end.Detail, StringComparison.Ordinal);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, await raw.ReadUntilClosedAsync());
    }

    /// <summary>Two transports with shared memory, connected, each side's ring accepted by the other.</summary>
    private sealed class SharedPair(TensorTransport a, TensorTransport b, TensorConnection atoB, TensorConnection btoA) : IAsyncDisposable
    {
        public TensorConnection AtoB { get; } = atoB;

        public TensorConnection BtoA { get; } = btoA;

        public static async Task<SharedPair> ConnectAsync()
        {
            var (a, _) = await StartAsync("a", Shared);
            var (b, _) = await StartAsync("b", Shared);
            var (ab, ba) = await TensorFixture.ConnectAsync(a, b);
            var pair = new SharedPair(a, b, ab, ba);
            Assert.True(await ab.SharedMemoryAnswered.WaitAsync(WaitLimit));
            Assert.True(await ba.SharedMemoryAnswered.WaitAsync(WaitLimit));
            return pair;
        }

        public async ValueTask DisposeAsync()
        {
            await a.DisposeAsync();
            await b.DisposeAsync();
        }
    }

    private static SharedRing SharedRingForTest() => SharedRing.Create("/dev/shm", RingBytes);

    /// <summary>A serialized Frame { tensor { header, shared } }, as a peer would send it inside chunks.</summary>
    private static byte[] SharedTensorPrefix(SharedSlice slice) =>
        new Frame { Tensor = new Tensor { Header = WireHeader(step: 1), Shared = slice } }.ToByteArray();
}
