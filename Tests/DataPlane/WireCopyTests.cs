using Google.Protobuf;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Protocol;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.DataPlane;

/// <summary>
/// The copy-saving paths of large messages: <see cref="ChunkWriter.SplitMessage"/> chunking an envelope
/// without serializing it whole, <see cref="ChunkAssembler.ParseMessage"/> wrapping the reassembled
/// payload in place, and the in-place parse of chunk frames. They must put on the wire what the plain
/// protobuf path did, and reject what it rejected. (The step messages' float fields, the third copy-saving
/// path, are the remoting layer's: <c>Tests/Remote/StepMessageWireTests</c>.)
/// </summary>
public sealed class WireCopyTests
{
    private const string Sender = "rnn://rnncluster@127.0.0.1:2552/user/coordinator";
    private const string Recipient = "rnn://rnncluster@127.0.0.1:40000/user/node/workers-1/worker-0";

    private static readonly FrameLimits Limits = new()
    {
        MaxFrameBytes = 4096,
        MaxInFlightBytesPerPeer = 8L * 1024 * 1024,
        AbandonedTransferTimeout = TimeSpan.FromSeconds(30),
    };

    private readonly ChunkWriter _writer = new(Limits);
    private readonly ChunkAssembler _assembler = new("rnn://cluster@10.0.0.2:7100", Limits, new ManualTimeProvider());

    /// <summary>Payload sizes around chunk boundaries, and a sender longer than a chunk (the header alone fills chunks).</summary>
    [Theory]
    [InlineData(1, 100)]
    [InlineData(4000, 100)]
    [InlineData(4016, 100)]
    [InlineData(100_003, 100)]
    [InlineData(10_000, 9000)]
    public void SplitMessage_chunks_exactly_the_serialized_frame(int payloadBytes, int senderLength)
    {
        var message = new Message
        {
            TypeId = 21,
            Sender = new string('s', senderLength),
            Recipient = Recipient,
            Payload = ByteString.CopyFrom(Bytes(payloadBytes)),
        };

        var frames = _writer.SplitMessage(message);

        Assert.All(frames, f => Assert.True(f.CalculateSize() <= Limits.MaxFrameBytes, $"frame of {f.CalculateSize()} bytes"));
        var payload = Reassemble(frames);
        Assert.Equal(new Frame { Message = message }.ToByteArray(), payload);
        Assert.Equal(message, ChunkAssembler.ParseMessage(payload));
    }

    [Fact]
    public void A_message_with_an_empty_payload_still_chunks_and_parses()
    {
        var message = new Message { TypeId = 7, Sender = new string('s', 9000), Recipient = Recipient };

        var payload = Reassemble(_writer.SplitMessage(message));

        Assert.Equal(message, ChunkAssembler.ParseMessage(payload));
    }

    [Fact]
    public void A_corrupted_byte_in_a_payload_chunk_fails_the_checksum()
    {
        var message = new Message { TypeId = 21, Sender = Sender, Recipient = Recipient, Payload = ByteString.CopyFrom(Bytes(20_000)) };
        var frames = _writer.SplitMessage(message).Select(f => f.Clone()).ToList();
        var data = frames[2].Chunk.Data.ToByteArray();
        data[17] ^= 0x40;
        frames[2].Chunk.Data = ByteString.CopyFrom(data);

        Assert.Throws<ChunkIntegrityException>(() => Reassemble(frames));
        Assert.Equal(0, _assembler.PendingTransfers);
        Assert.Equal(0, _assembler.BufferedBytes);
    }

    /// <summary>FrameSocket hands over chunks whose data points into its receive buffer, reused for the next read.</summary>
    [Fact]
    public void The_assembler_copies_chunk_data_so_the_caller_may_reuse_its_buffer()
    {
        var message = new Message { TypeId = 21, Sender = Sender, Recipient = Recipient, Payload = ByteString.CopyFrom(Bytes(20_000)) };
        var expected = new Frame { Message = message }.ToByteArray();
        var receiveBuffer = new byte[Limits.MaxFrameBytes];
        byte[]? payload = null;

        foreach (var frame in _writer.SplitMessage(message))
        {
            Assert.Null(payload);
            var data = frame.Chunk.Data.Span;
            data.CopyTo(receiveBuffer);
            var chunk = new Chunk(frame.Chunk) { Data = UnsafeByteOperations.UnsafeWrap(receiveBuffer.AsMemory(0, data.Length)) };
            _assembler.Accept(chunk, out payload);
            Array.Fill(receiveBuffer, (byte)0xEE);
        }

        Assert.Equal(expected, payload);
    }

    [Fact]
    public void ParseFrame_reads_every_frame_as_generated_code_does()
    {
        var message = new Message { TypeId = 21, Sender = Sender, Recipient = Recipient, Payload = ByteString.CopyFrom(Bytes(20_000)) };
        var frames = _writer.SplitMessage(message).Append(new Frame { Message = message }).Append(new Frame { Heartbeat = new Heartbeat { Sequence = 5 } });
        var chunkThenHeartbeat = frames.First().ToByteArray().Concat(new Frame { Heartbeat = new Heartbeat { Sequence = 6 } }.ToByteArray()).ToArray();

        foreach (var bytes in frames.Select(f => f.ToByteArray()).Append(chunkThenHeartbeat))
        {
            Assert.Equal(Frame.Parser.ParseFrom(bytes), ChunkAssembler.ParseFrame(bytes));
        }

        var truncated = frames.First().ToByteArray()[..^1];
        Assert.ThrowsAny<Exception>(() => ChunkAssembler.ParseFrame(truncated));
    }

    [Fact]
    public void Only_a_chunked_message_parses()
    {
        var chunk = new Frame { Chunk = new Chunk { TransferId = 1, Count = 1, Data = ByteString.CopyFrom(1, 2, 3) } };
        var heartbeat = new Frame { Heartbeat = new Heartbeat { Sequence = 3 } };
        var messageThenChunk = new Frame { Message = new Message { TypeId = 1 } }.ToByteArray().Concat(chunk.ToByteArray()).ToArray();

        Assert.Throws<FormatException>(() => ChunkAssembler.ParseMessage(chunk.ToByteArray()));
        Assert.Throws<FormatException>(() => ChunkAssembler.ParseMessage(heartbeat.ToByteArray()));
        Assert.Throws<FormatException>(() => ChunkAssembler.ParseMessage([]));
        Assert.Throws<FormatException>(() => ChunkAssembler.ParseMessage(messageThenChunk));
        var truncated = new Frame { Message = new Message { TypeId = 1, Payload = ByteString.CopyFrom(Bytes(50)) } }.ToByteArray()[..^1];
        Assert.Throws<FormatException>(() => ChunkAssembler.ParseMessage(truncated));
    }

    private byte[] Reassemble(IEnumerable<Frame> frames)
    {
        byte[]? result = null;
        foreach (var frame in frames)
        {
            Assert.Null(result);
            if (_assembler.Accept(Frame.Parser.ParseFrom(frame.ToByteArray()).Chunk, out var payload))
            {
                result = payload;
            }
        }

        Assert.NotNull(result);
        return result;
    }

    private static byte[] Bytes(int size)
    {
        var bytes = new byte[size];
        new Random(size).NextBytes(bytes);
        return bytes;
    }
}
