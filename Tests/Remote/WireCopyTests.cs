using Google.Protobuf;
using RnnCluster.Remote;
using RnnCluster.Remote.Protocol;
using RnnCluster.TestKit;
using RnnCluster.Training.Cluster;
using Step = RnnCluster.Training.Parallel;
using Wire = RnnCluster.Remote.Protocol;

namespace RnnCluster.Tests.Remote;

/// <summary>
/// The copy-saving paths of large messages: <see cref="ChunkWriter.SplitMessage"/> chunking an envelope
/// without serializing it whole, <see cref="ChunkAssembler.ParseMessage"/> wrapping the reassembled
/// payload in place, and the step messages' float fields written and read straight from message bytes.
/// They must put on the wire what the plain protobuf path did, and reject what it rejected.
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

    [Fact]
    public void Large_step_messages_round_trip_through_chunking_with_every_float_intact()
    {
        var registry = ClusterProtocol.CreateRegistry();
        var writer = new ChunkWriter(FrameLimits.Default);
        var assembler = new ChunkAssembler("peer", FrameLimits.Default, new ManualTimeProvider());
        var parameters = Floats(1_200_001, 1);
        var window = new Step.ComputeWindow(9, 2, 1, 10, 2, 3, [1, 2, 3, 4, 5, 6], [2, 3, 4, 5, 6, -1], Floats(12, 2), parameters);
        var gradients = new Step.WindowGradients(9, 2, 1, 1, 12.5, 6, Floats(1_200_001, 3), Floats(12, 4), 0.25, 0.01);

        var decodedWindow = Assert.IsType<Step.ComputeWindow>(RoundTrip(window));
        var decodedGradients = Assert.IsType<Step.WindowGradients>(RoundTrip(gradients));

        Assert.Equal(window with { Inputs = decodedWindow.Inputs, Targets = decodedWindow.Targets, State = decodedWindow.State, Parameters = decodedWindow.Parameters }, decodedWindow);
        Assert.Equal(window.Inputs, decodedWindow.Inputs);
        Assert.Equal(window.Targets, decodedWindow.Targets);
        Assert.Equal(window.State, decodedWindow.State);
        Assert.Equal(window.Parameters, decodedWindow.Parameters);
        Assert.Equal(gradients with { Gradients = decodedGradients.Gradients, FinalState = decodedGradients.FinalState }, decodedGradients);
        Assert.Equal(gradients.Gradients, decodedGradients.Gradients);
        Assert.Equal(gradients.FinalState, decodedGradients.FinalState);

        object RoundTrip(object message)
        {
            byte[]? payload = null;
            foreach (var frame in writer.SplitMessage(registry.Encode(message, Sender, Recipient)))
            {
                Assert.Null(payload);
                assembler.Accept(Frame.Parser.ParseFrom(frame.ToByteArray()).Chunk, out payload);
            }

            Assert.NotNull(payload);
            return registry.Decode(ChunkAssembler.ParseMessage(payload));
        }
    }

    /// <summary>The bytes are plain protobuf of the schema: generated code reads them, and reads them the same.</summary>
    [Fact]
    public void Step_message_bytes_parse_with_generated_code()
    {
        var registry = ClusterProtocol.CreateRegistry();
        var gradients = new Step.WindowGradients(9, 2, 1, 1, 12.5, 6, [0.1f, -0.2f], [], 0.25, 0.01);
        var batch = new Step.ComputeBatch(4, 1, 0, 8, new RnnCluster.Training.Tasks.TaskShard(2, [1, 2, 3, 4], [2, 1], 1, [5, 6], [7, 8]), [1f, 2f, 3f]);

        var wireGradients = Wire.WindowGradients.Parser.ParseFrom(registry.Encode(gradients, Sender, Recipient).Payload);
        var wireBatch = Wire.ComputeBatch.Parser.ParseFrom(registry.Encode(batch, Sender, Recipient).Payload);

        Assert.Equal(
            new Wire.WindowGradients
            {
                Step = 9,
                Generation = 2,
                Attempt = 1,
                WorkerIndex = 1,
                LossSum = 12.5,
                Tokens = 6,
                Gradients = LittleEndianFloats.ToByteString([0.1f, -0.2f]),
                ComputeSeconds = 0.25,
                CopySeconds = 0.01,
            },
            wireGradients);
        Assert.Equal([1f, 2f, 3f], LittleEndianFloats.ToArray(wireBatch.Parameters));
        Assert.Equal([1L, 2, 3, 4], wireBatch.Sources);
        var decoded = Assert.IsType<Step.ComputeBatch>(registry.Decode(registry.Encode(batch, Sender, Recipient)));
        Assert.Equal(batch.Parameters, decoded.Parameters);
        Assert.Equal(batch.Shard.DecoderInputs, decoded.Shard.DecoderInputs);
    }

    [Fact]
    public void A_truncated_or_misaligned_step_message_is_a_decode_error()
    {
        var registry = ClusterProtocol.CreateRegistry();
        var message = registry.Encode(new Step.WindowGradients(9, 2, 1, 1, 12.5, 6, [0.1f, -0.2f], [1f], 0.25, 0.01), Sender, Recipient);
        var bytes = message.Payload.ToByteArray();

        var truncated = new Message(message) { Payload = ByteString.CopyFrom(bytes[..^2]) };
        Assert.Throws<MessageDecodeException>(() => registry.Decode(truncated));

        // A gradients field of 5 bytes: not a whole number of floats.
        var odd = new Message(message) { Payload = ByteString.CopyFrom([.. bytes, 0x3A, 5, 1, 2, 3, 4, 5]) };
        Assert.Throws<MessageDecodeException>(() => registry.Decode(odd));
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

    private static float[] Floats(int count, int seed)
    {
        var rng = new Random(seed);
        var values = new float[count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)(rng.NextDouble() - 0.5);
        }

        return values;
    }
}
