using Google.Protobuf;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Protocol;

namespace RnnCluster.Tests.DataPlane;

public sealed class FrameRoundTripTests
{
    [Theory]
    [InlineData(Frame.BodyOneofCase.Handshake)]
    [InlineData(Frame.BodyOneofCase.HandshakeReply)]
    [InlineData(Frame.BodyOneofCase.Chunk)]
    [InlineData(Frame.BodyOneofCase.Tensor)]
    public void Every_frame_kind_survives_serialization_unchanged(Frame.BodyOneofCase kind)
    {
        var frame = Sample(kind);

        var decoded = Frame.Parser.ParseFrom(frame.ToByteArray());

        Assert.Equal(kind, decoded.BodyCase);
        Assert.Equal(frame, decoded);
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
        Frame.BodyOneofCase.Tensor => new Frame
        {
            Tensor = new Tensor
            {
                Header = new TensorHeader { Kind = 2, RunId = "run", Generation = 3, Step = 4, Attempt = 1, WorkerIndex = 5, Incarnation = 6, Values = { ["loss"] = 0.5 } },
                Data = LittleEndianFloats.ToByteString([1f, -2f]),
            },
        },
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}
