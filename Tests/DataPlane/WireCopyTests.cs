using Google.Protobuf;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Protocol;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.DataPlane;

/// <summary>
/// The copy-saving receive path: <see cref="ChunkAssembler.ParseFrame"/> parses chunk frames in place,
/// pointing into the receive buffer, and the assembler copies what it keeps, so that buffer can be reused
/// for the next read. The frames must read exactly as the generated parser reads them.
/// </summary>
public sealed class WireCopyTests
{
    private static readonly FrameLimits Limits = new()
    {
        MaxFrameBytes = 4096,
        MaxInFlightBytesPerPeer = 8L * 1024 * 1024,
        AbandonedTransferTimeout = TimeSpan.FromSeconds(30),
    };

    private readonly ChunkWriter _writer = new(Limits);
    private readonly ChunkAssembler _assembler = new("rnn://cluster@10.0.0.2:7100", Limits, new ManualTimeProvider());

    /// <summary>FrameSocket hands over chunks whose data points into its receive buffer, reused for the next read.</summary>
    [Fact]
    public void The_assembler_copies_chunk_data_so_the_caller_may_reuse_its_buffer()
    {
        var expected = Bytes(20_000);
        var receiveBuffer = new byte[Limits.MaxFrameBytes];
        byte[]? payload = null;

        foreach (var frame in _writer.Split(expected))
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
        var handshake = new Frame { Handshake = new Handshake { ProtocolVersion = 1, NodeAddress = "rnn://cluster@10.0.0.2:7100", Incarnation = 5 } };
        var tensor = new Frame { Tensor = new Tensor { Header = new TensorHeader { Kind = 1, Step = 3 }, Data = ByteString.CopyFrom(Bytes(64)) } };
        var frames = _writer.Split(Bytes(20_000)).Append(handshake).Append(tensor).ToList();
        var chunkThenHandshake = frames[0].ToByteArray().Concat(handshake.ToByteArray()).ToArray();

        foreach (var bytes in frames.Select(f => f.ToByteArray()).Append(chunkThenHandshake))
        {
            Assert.Equal(Frame.Parser.ParseFrom(bytes), ChunkAssembler.ParseFrame(bytes));
        }

        var truncated = frames[0].ToByteArray()[..^1];
        Assert.ThrowsAny<Exception>(() => ChunkAssembler.ParseFrame(truncated));
    }

    private static byte[] Bytes(int size)
    {
        var bytes = new byte[size];
        new Random(size).NextBytes(bytes);
        return bytes;
    }
}
