using Google.Protobuf;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Protocol;
using RnnCluster.Remote;
using RnnCluster.Remote.Protocol;
using RnnCluster.TestKit;
using RnnCluster.Training.Cluster;
using Step = RnnCluster.Training.Parallel;
using Wire = RnnCluster.Remote.Protocol;

namespace RnnCluster.Tests.Remote;

/// <summary>
/// The step protocol's actor messages on the wire: encoded through the <see cref="MessageRegistry"/>
/// (with <c>ClusterProtocol</c>'s float fields written and read straight from message bytes), carried in
/// the data plane's frames and chunks. They must put on the wire what plain protobuf would, and reject
/// what it rejects. (Split from the framing tests when the framing moved to <c>Shared/DataPlane</c>.)
/// </summary>
public sealed class StepMessageWireTests
{
    private const string Sender = "rnn://rnncluster@127.0.0.1:2552/user/coordinator";
    private const string Recipient = "rnn://rnncluster@127.0.0.1:40000/user/node/workers-1/worker-0";

    [Fact]
    public void Step_protocol_messages_round_trip_through_the_registry_inside_a_frame()
    {
        var registry = new MessageRegistryBuilder()
            .AddProtobuf<ComputeWindow>(1)
            .AddProtobuf<WindowGradients>(2)
            .Build();
        var window = new ComputeWindow
        {
            Step = 7,
            Generation = 2,
            Attempt = 1,
            FirstStream = 4,
            StreamCount = 2,
            Length = 3,
            Inputs = { 1, 2, 3, 4, 5, 6 },
            Targets = { 2, 3, 4, 5, 6, -1 },
            State = LittleEndianFloats.ToByteString([0.5f, -1.25f, float.Epsilon, 3e38f]),
            Parameters = LittleEndianFloats.ToByteString([1f, 2f, 3f]),
        };
        var gradients = new WindowGradients
        {
            Step = 7,
            Generation = 2,
            Attempt = 1,
            WorkerIndex = 1,
            LossSum = 12.5,
            Tokens = 5,
            Gradients = LittleEndianFloats.ToByteString([0.1f, -0.2f, 0.3f]),
            FinalState = LittleEndianFloats.ToByteString([9f, 8f, 7f, 6f]),
            ComputeSeconds = 0.25,
            CopySeconds = 0.01,
        };

        foreach (var message in new IMessage[] { window, gradients })
        {
            var frame = new Frame { Message = registry.Encode(message, "rnn://c@a:1/user/coordinator", "rnn://c@b:2/user/w-0") };
            var wire = Frame.Parser.ParseFrom(frame.ToByteArray());

            Assert.Equal("rnn://c@a:1/user/coordinator", wire.Message.Sender);
            Assert.Equal("rnn://c@b:2/user/w-0", wire.Message.Recipient);
            Assert.Equal(message, registry.Decode(wire.Message));
        }

        Assert.Equal([0.5f, -1.25f, float.Epsilon, 3e38f], LittleEndianFloats.ToArray(window.State));
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
