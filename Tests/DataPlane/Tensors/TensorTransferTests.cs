using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Tensors;
using Xunit.Abstractions;
using static RnnCluster.Tests.DataPlane.Tensors.TensorFixture;

namespace RnnCluster.Tests.DataPlane.Tensors;

/// <summary>
/// Tensors between real loopback transports. In the transport tests' collection, so the listeners do
/// not compete with each other for the two cores.
/// </summary>
[Collection(TensorFixture.Collection)]
public sealed class TensorTransferTests(ITestOutputHelper output)
{
    /// <summary>
    /// A sender writes each chunk straight from where its bytes lie (the header's few bytes, then the floats),
    /// the first chunk from both. What travels must be byte for byte what generated code writes for the
    /// whole serialized tensor, chunked: peers of every version read it, and the checksum covers the same bytes.
    /// With 4 KiB frames every chunk goes out as one WebSocket frame; with 256 KiB frames a chunk carrying
    /// 64 KiB of floats or more goes out as two fragments (its leading bytes, then the floats from where
    /// they lie), and the message must still be the same bytes.
    /// </summary>
    [Theory]
    [InlineData(4096)]
    [InlineData(256 * 1024)]
    public async Task A_tensors_chunks_travel_byte_for_byte_as_generated_code_writes_them(int maxFrameBytes)
    {
        var limits = FrameLimits.Default with { MaxFrameBytes = maxFrameBytes };
        var (server, _) = await StartAsync("server", o => o with { Limits = limits });
        await using var _s = server;
        var (raw, atServer) = await RawPeer.ConnectAcceptedAsync(server);
        using var _r = raw;
        var header = Header(step: 5);
        var wireHeader = new RnnCluster.DataPlane.Protocol.TensorHeader
        {
            Kind = (uint)header.Kind, RunId = header.RunId, Generation = header.Generation, Step = header.Step,
            Attempt = header.Attempt, WorkerIndex = header.WorkerIndex, Incarnation = header.Incarnation,
        };

        // Sizes around the chunk edges: one chunk, a header-and-floats chunk straddling into a second, several.
        var chunkData = new ChunkWriter(limits).MaxChunkDataBytes;
        foreach (var floats in new[] { 0, 1, 900, (chunkData / 4) - 8, chunkData / 4, 3000, (3 * chunkData / 4) + 5 })
        {
            var data = Floats(floats, seed: floats);
            var expected = TensorFrames(limits, wireHeader, data).Select(f => f.ToByteArray()).ToList();
            var sending = atServer.SendAsync(header, data);
            foreach (var frame in expected)
            {
                var travelled = await raw.ReceiveBytesAsync();

                // Transfer ids count per connection; the fixture's writer starts again at 1 each time.
                var parsed = RnnCluster.DataPlane.Protocol.Frame.Parser.ParseFrom(travelled);
                var reference = RnnCluster.DataPlane.Protocol.Frame.Parser.ParseFrom(frame);
                reference.Chunk.TransferId = parsed.Chunk.TransferId;
                Assert.Equal(reference.ToByteArray(), travelled);
            }

            await sending.WaitAsync(WaitLimit);
        }
    }

    [Fact]
    public async Task A_5M_float_tensor_round_trips_bit_exact_with_its_header()
    {
        var (a, _) = await StartAsync("a");
        await using var _a = a;
        var (b, _) = await StartAsync("b");
        await using var _b = b;
        var (ab, ba) = await ConnectAsync(a, b);
        var payload = Floats(5_000_000, seed: 1);
        var header = Header(step: 12) with { Values = new Dictionary<string, double> { ["loss-sum"] = 1234.5, ["tokens"] = 350, ["nan"] = double.NaN } };

        var clock = Stopwatch.StartNew();
        await ab.SendAsync(header, payload);
        using (var atB = await ReceiveAsync(ba))
        {
            Assert.Equal(header, atB.Header);
            Assert.Equal(a.Identity, atB.Peer);
            AssertBitExact(payload, atB.Payload.Span);

            // Echo the received buffer itself: the way back reads the pooled array in place.
            await ba.SendAsync(atB.Header with { Kind = TensorKind.Parameters }, atB.Payload);
        }

        using var back = await ReceiveAsync(ab);
        var elapsed = clock.Elapsed;
        Assert.Equal(TensorKind.Parameters, back.Header.Kind);
        Assert.Equal(header.Values.Count, back.Header.Values.Count);
        AssertBitExact(payload, back.Payload.Span);
        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"5,000,000 floats (20.0 MB) there and back on loopback in {elapsed.TotalMilliseconds:F0} ms: {2 * 20.0 / elapsed.TotalSeconds:F0} MB/s"));
    }

    /// <summary>
    /// With 4 KiB frames a chunk carries 1004 floats' worth of bytes; the few header bytes in front shift
    /// where the floats cross chunk boundaries, so sizes run through a window around each multiple.
    /// </summary>
    [Fact]
    public async Task Odd_sizes_and_sizes_around_chunk_boundaries_arrive_whole_and_in_order()
    {
        var limits = FrameLimits.Default with { MaxFrameBytes = 4096 };
        var (a, _) = await StartAsync("a", o => o with { Limits = limits });
        await using var _a = a;
        var (b, _) = await StartAsync("b", o => o with { Limits = limits });
        await using var _b = b;
        var (ab, ba) = await ConnectAsync(a, b);
        var floatsPerChunk = new ChunkWriter(limits).MaxChunkDataBytes / sizeof(float);
        int[] sizes =
        [
            0, 1, 2, 3, 5, 7, 13, 255, 1023,
            .. Enumerable.Range(1, 3).SelectMany(k => Enumerable.Range((k * floatsPerChunk) - 24, 32)),
            (10 * floatsPerChunk) + 1,
        ];

        var receiving = Task.Run(async () =>
        {
            for (var i = 0; i < sizes.Length; i++)
            {
                using var message = await ReceiveAsync(ba);
                Assert.Equal(i, message.Header.Step);
                AssertBitExact(Floats(sizes[i], seed: i), message.Payload.Span);
            }
        });
        for (var i = 0; i < sizes.Length; i++)
        {
            await ab.SendAsync(Header(step: i), Floats(sizes[i], seed: i));
        }

        await receiving.WaitAsync(WaitLimit);
        Assert.Null(ab.End);
        Assert.Null(ba.End);
    }

    [Fact]
    public async Task Both_ends_send_at_once_and_concurrent_sends_each_arrive_whole()
    {
        var (a, _) = await StartAsync("a");
        await using var _a = a;
        var (b, _) = await StartAsync("b");
        await using var _b = b;
        var (ab, ba) = await ConnectAsync(a, b);
        const int PerSide = 6;

        // Several callers at once on each end: the send lock keeps every tensor's chunks together.
        var sends = Enumerable.Range(0, PerSide).SelectMany(i => new[]
        {
            Task.Run(() => ab.SendAsync(Header(step: i), Floats(300_001 + i, seed: i))),
            Task.Run(() => ba.SendAsync(Header(step: 100 + i), Floats(200_003 + i, seed: 100 + i))),
        }).ToList();
        var atB = ReceiveAllAsync(ba, PerSide);
        var atA = ReceiveAllAsync(ab, PerSide);
        await Task.WhenAll(sends).WaitAsync(WaitLimit);

        Assert.Equal(Enumerable.Range(0, PerSide).Select(i => (long)i), (await atB).Order());
        Assert.Equal(Enumerable.Range(100, PerSide).Select(i => (long)i), (await atA).Order());
    }

    [Fact]
    public async Task A_cancelled_receive_leaves_the_connection_open()
    {
        var (a, _) = await StartAsync("a");
        await using var _a = a;
        var (b, _) = await StartAsync("b");
        await using var _b = b;
        var (ab, ba) = await ConnectAsync(a, b);

        using (var soon = new CancellationTokenSource(TimeSpan.FromMilliseconds(50)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ba.ReceiveAsync(soon.Token).AsTask());
        }

        await ab.SendAsync(Header(step: 1), Floats(10, seed: 1));
        using var message = await ReceiveAsync(ba);
        AssertBitExact(Floats(10, seed: 1), message.Payload.Span);
    }

    /// <summary>Receives <paramref name="count"/> tensors, checks each against what its step says was sent, returns the steps.</summary>
    private static async Task<List<long>> ReceiveAllAsync(TensorConnection connection, int count)
    {
        var steps = new List<long>();
        for (var i = 0; i < count; i++)
        {
            using var message = await ReceiveAsync(connection);
            var step = (int)message.Header.Step;
            var expected = step < 100 ? Floats(300_001 + step, seed: step) : Floats(200_003 + step - 100, seed: step);
            AssertBitExact(expected, message.Payload.Span);
            steps.Add(step);
        }

        return steps;
    }
}
