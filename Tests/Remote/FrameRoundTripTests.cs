using Google.Protobuf;
using RnnCluster.Remote;
using RnnCluster.Remote.Protocol;

namespace RnnCluster.Tests.Remote;

public sealed class FrameRoundTripTests
{
    [Theory]
    [InlineData(Frame.BodyOneofCase.Handshake)]
    [InlineData(Frame.BodyOneofCase.HandshakeReply)]
    [InlineData(Frame.BodyOneofCase.Message)]
    [InlineData(Frame.BodyOneofCase.Chunk)]
    [InlineData(Frame.BodyOneofCase.Heartbeat)]
    public void Every_frame_kind_survives_serialization_unchanged(Frame.BodyOneofCase kind)
    {
        var frame = Sample(kind);

        var decoded = Frame.Parser.ParseFrom(frame.ToByteArray());

        Assert.Equal(kind, decoded.BodyCase);
        Assert.Equal(frame, decoded);
    }

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
    public void Float_buffers_are_little_endian_ieee754_on_the_wire()
    {
        var bytes = LittleEndianFloats.ToByteString([1f]);

        Assert.Equal(new byte[] { 0x00, 0x00, 0x80, 0x3F }, bytes.ToByteArray());
    }

    [Fact]
    public void A_float_buffer_with_a_partial_float_is_refused()
    {
        Assert.Throws<FormatException>(() => LittleEndianFloats.ToArray(ByteString.CopyFrom(1, 2, 3)));
    }

    private static Frame Sample(Frame.BodyOneofCase kind) => kind switch
    {
        Frame.BodyOneofCase.Handshake => new Frame
        {
            Handshake = new Handshake
            {
                ProtocolVersion = 1,
                NodeAddress = "rnn://cluster@10.0.0.1:7100",
                Incarnation = 42,
                Nonce = ByteString.CopyFrom(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()),
            },
        },
        Frame.BodyOneofCase.HandshakeReply => new Frame
        {
            HandshakeReply = new HandshakeReply { Proof = ByteString.CopyFrom(Enumerable.Repeat((byte)0xAB, 32).ToArray()) },
        },
        Frame.BodyOneofCase.Message => new Frame
        {
            Message = new Message { TypeId = 3, Sender = "rnn://c@a:1/user/x", Recipient = "rnn://c@b:2/user/y", Payload = ByteString.CopyFrom(1, 2, 3) },
        },
        Frame.BodyOneofCase.Chunk => new Frame
        {
            Chunk = new Chunk
            {
                TransferId = ulong.MaxValue,
                Index = 2,
                Count = 3,
                TotalLength = 5000,
                Digest = ByteString.CopyFrom(new byte[16]),
                Data = ByteString.CopyFrom(9, 8, 7),
            },
        },
        Frame.BodyOneofCase.Heartbeat => new Frame { Heartbeat = new Heartbeat { Sequence = 99, SenderIncarnation = 42 } },
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}
