using RnnCluster.Tests.Support;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Protocol;

namespace RnnCluster.Tests.DataPlane;

public sealed class ChunkingTests
{
    private const string PeerName = "rnn://cluster@10.0.0.2:7100";

    private static readonly FrameLimits Limits = new()
    {
        MaxFrameBytes = 4096,
        MaxInFlightBytesPerPeer = 64 * 1024,
        AbandonedTransferTimeout = TimeSpan.FromSeconds(30),
    };

    private readonly ManualTimeProvider _clock = new();
    private readonly ChunkWriter _writer = new(Limits);
    private readonly ChunkAssembler _assembler;

    public ChunkingTests()
    {
        _assembler = new ChunkAssembler(PeerName, Limits, _clock);
    }

    private int N => _writer.MaxChunkDataBytes;

    /// <summary>Sizes 0, 1, N-1, N, N+1 and 10N, written as multiple·N + delta (N = data bytes per chunk).</summary>
    [Theory]
    [InlineData(0, 0, 1)]
    [InlineData(0, 1, 1)]
    [InlineData(1, -1, 1)]
    [InlineData(1, 0, 1)]
    [InlineData(1, 1, 2)]
    [InlineData(10, 0, 10)]
    public void A_payload_round_trips_in_frames_no_larger_than_the_limit(int multiple, int delta, int expectedFrames)
    {
        var payload = Payload((multiple * N) + delta);

        var frames = _writer.Split(payload);

        Assert.Equal(expectedFrames, frames.Count);
        Assert.All(frames, f => Assert.True(f.CalculateSize() <= Limits.MaxFrameBytes, $"frame of {f.CalculateSize()} bytes"));
        Assert.Equal(payload, Reassemble(frames));
        Assert.Equal(0, _assembler.PendingTransfers);
        Assert.Equal(0, _assembler.BufferedBytes);
    }

    [Fact]
    public void Chunks_arriving_in_any_order_reassemble_the_payload()
    {
        var payload = Payload((5 * N) + 17);
        var frames = _writer.Split(payload).Reverse().ToList();
        (frames[1], frames[3]) = (frames[3], frames[1]);

        Assert.Equal(payload, Reassemble(frames));
    }

    [Fact]
    public void A_duplicate_chunk_is_ignored_and_counted_once()
    {
        var payload = Payload((2 * N) + 5);
        var frames = _writer.Split(payload);

        Assert.False(_assembler.Accept(frames[0].Chunk, out _));
        Assert.False(_assembler.Accept(frames[0].Chunk, out _));
        Assert.Equal(N, _assembler.BufferedBytes);
        Assert.False(_assembler.Accept(frames[1].Chunk, out _));
        Assert.True(_assembler.Accept(frames[2].Chunk, out var result));

        Assert.Equal(payload, result);
        Assert.Equal(0, _assembler.BufferedBytes);
    }

    [Fact]
    public void A_corrupted_chunk_fails_the_hash_and_the_transfer_is_discarded()
    {
        var frames = _writer.Split(Payload((2 * N) + 5));
        var corrupted = frames[1].Chunk.Clone();
        var data = corrupted.Data.ToByteArray();
        data[10] ^= 0x01;
        corrupted.Data = ByteString.CopyFrom(data);

        _assembler.Accept(frames[0].Chunk, out _);
        _assembler.Accept(corrupted, out _);
        var error = Assert.Throws<ChunkIntegrityException>(() => _assembler.Accept(frames[2].Chunk, out _));

        Assert.Equal(frames[0].Chunk.TransferId, error.TransferId);
        Assert.Contains(PeerName, error.Message, StringComparison.Ordinal);
        Assert.Equal(0, _assembler.PendingTransfers);
        Assert.Equal(0, _assembler.BufferedBytes);
    }

    [Fact]
    public void Exceeding_the_in_flight_bytes_of_a_peer_is_refused_naming_the_limit_and_the_peer()
    {
        // Room for three chunks: two transfers of three chunks each fit alone, not side by side.
        var tight = new ChunkAssembler(PeerName, Limits with { MaxInFlightBytesPerPeer = 3 * 4096 }, _clock);
        var first = _writer.Split(Payload((2 * N) + 1));
        var second = _writer.Split(Payload((2 * N) + 1));
        tight.Accept(first[0].Chunk, out _);
        tight.Accept(first[1].Chunk, out _);
        tight.Accept(second[0].Chunk, out _);

        var error = Assert.Throws<FrameLimitExceededException>(() => tight.Accept(second[1].Chunk, out _));

        Assert.Equal(nameof(FrameLimits.MaxInFlightBytesPerPeer), error.LimitName);
        Assert.Equal(3 * 4096, error.Limit);
        Assert.Equal(PeerName, error.Peer);
        Assert.Contains(PeerName, error.Message, StringComparison.Ordinal);
        Assert.Contains("12288", error.Message, StringComparison.Ordinal);
        Assert.Equal(2 * N, tight.BufferedBytes);
        Assert.Equal(1, tight.PendingTransfers);
    }

    [Fact]
    public void A_transfer_declaring_more_than_the_in_flight_limit_is_refused_before_buffering()
    {
        var tight = new ChunkAssembler(PeerName, Limits with { MaxInFlightBytesPerPeer = 3 * 4096 }, _clock);
        var frames = _writer.Split(Payload(4 * N));

        var error = Assert.Throws<FrameLimitExceededException>(() => tight.Accept(frames[0].Chunk, out _));

        Assert.Equal(nameof(FrameLimits.MaxInFlightBytesPerPeer), error.LimitName);
        Assert.Equal(4 * N, error.Attempted);
        Assert.Equal(0, tight.BufferedBytes);
        Assert.Equal(0, tight.PendingTransfers);
    }

    [Fact]
    public void The_next_chunk_after_the_timeout_frees_an_abandoned_transfer_and_its_memory()
    {
        var data = FeedFirstChunkOfLargeTransfer();
        Assert.Equal(1, _assembler.PendingTransfers);

        _clock.Advance(Limits.AbandonedTransferTimeout - TimeSpan.FromTicks(1));
        Assert.True(_assembler.Accept(_writer.Split(Payload(3))[0].Chunk, out _));
        Assert.Equal(1, _assembler.PendingTransfers);
        _clock.Advance(TimeSpan.FromTicks(1));
        Assert.True(_assembler.Accept(_writer.Split(Payload(4))[0].Chunk, out _));

        Assert.Equal(0, _assembler.PendingTransfers);
        Assert.Equal(0, _assembler.BufferedBytes);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(data.IsAlive, "the assembler still references the abandoned chunk's data");
    }

    [Fact]
    public void A_one_chunk_transfer_the_all_reduces_usual_message_is_refused_when_corrupt_truncated_unhashed_or_oversized()
    {
        // At 8 nodes a 1M-float bucket's message is 512 KB: one chunk, complete as it arrives.
        var good = _writer.Split(Payload(N - 3)).Single().Chunk;
        Assert.Equal(1u, good.Count);

        var corrupted = good.Clone();
        var data = corrupted.Data.ToByteArray();
        data[7] ^= 0x01;
        corrupted.Data = ByteString.CopyFrom(data);
        var integrity = Assert.Throws<ChunkIntegrityException>(() => _assembler.Accept(corrupted, out _));
        Assert.Equal(good.TransferId, integrity.TransferId);
        Assert.Contains(PeerName, integrity.Message, StringComparison.Ordinal);

        var truncated = good.Clone();
        truncated.Data = ByteString.CopyFrom(good.Data.Span[..^1]);
        Assert.Contains($"declared {N - 3}", Assert.Throws<ChunkProtocolException>(() => _assembler.Accept(truncated, out _)).Message, StringComparison.Ordinal);

        var noHash = good.Clone();
        noHash.Digest = ByteString.Empty;
        Assert.Contains("hash", Assert.Throws<ChunkProtocolException>(() => _assembler.Accept(noHash, out _)).Message, StringComparison.Ordinal);

        var outside = good.Clone();
        outside.Index = 1;
        Assert.Throws<ChunkProtocolException>(() => _assembler.Accept(outside, out _));

        var oversized = good.Clone();
        oversized.TotalLength = (ulong)Limits.MaxInFlightBytesPerPeer + 1;
        Assert.Throws<FrameLimitExceededException>(() => _assembler.Accept(oversized, out _));

        Assert.True(_assembler.Accept(good, out var payload));
        Assert.Equal(good.Data.ToByteArray(), payload);
        Assert.Equal(0, _assembler.PendingTransfers);
        Assert.Equal(0, _assembler.BufferedBytes);
    }

    [Fact]
    public void A_chunk_index_outside_its_count_is_a_protocol_error()
    {
        var chunk = _writer.Split(Payload(N + 1))[0].Chunk.Clone();
        chunk.Index = 2;

        Assert.Throws<ChunkProtocolException>(() => _assembler.Accept(chunk, out _));
        Assert.Equal(0, _assembler.PendingTransfers);
    }

    [Fact]
    public void A_forged_chunk_count_cannot_make_the_assembler_allocate_for_it()
    {
        var chunk = new Chunk { TransferId = 1, Index = 0, Count = uint.MaxValue, TotalLength = 4096, Data = ByteString.CopyFrom(new byte[1000]) };

        Assert.Throws<ChunkProtocolException>(() => _assembler.Accept(chunk, out _));
    }

    [Fact]
    public void Transfer_ids_are_fresh_for_every_payload()
    {
        var a = _writer.Split(Payload(1))[0].Chunk.TransferId;
        var b = _writer.Split(Payload(1))[0].Chunk.TransferId;

        Assert.NotEqual(a, b);
    }

    /// <summary>Kept out of line so no local of this frame keeps the chunk alive for the GC check.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private WeakReference FeedFirstChunkOfLargeTransfer()
    {
        var chunk = _writer.Split(Payload(2 * N))[0].Chunk;
        var copy = new Chunk(chunk) { Data = ByteString.CopyFrom(chunk.Data.Span) };
        Assert.False(_assembler.Accept(copy, out _));
        return new WeakReference(copy.Data);
    }

    /// <summary>Sends each frame through its wire form, as a transport would.</summary>
    private byte[] Reassemble(IEnumerable<Frame> frames)
    {
        byte[]? result = null;
        foreach (var frame in frames)
        {
            var wire = Frame.Parser.ParseFrom(frame.ToByteArray());
            Assert.Null(result);
            if (_assembler.Accept(wire.Chunk, out var payload))
            {
                result = payload;
            }
        }

        Assert.NotNull(result);
        return result;
    }

    private static byte[] Payload(int size)
    {
        var bytes = new byte[size];
        new Random(size).NextBytes(bytes);
        return bytes;
    }
}
