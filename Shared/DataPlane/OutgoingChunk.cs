using Google.Protobuf;
using RnnCluster.DataPlane.Protocol;

namespace RnnCluster.DataPlane;

/// <summary>
/// One <c>Frame { chunk }</c> on its way out, its data still in the one or two places it lies: the chunk
/// that holds a tensor's header bytes and the first of its floats is written from both, straight into the
/// send buffer, instead of being joined into an array of its own first (a copy, and a fresh large array
/// whose pages fault in, for every tensor sent).
/// </summary>
/// <param name="Head">The chunk's fields other than its data (which must be empty here).</param>
/// <param name="First">The data's first part.</param>
/// <param name="Second">The data's second part; empty unless the chunk straddles two buffers.</param>
internal readonly record struct OutgoingChunk(Chunk Head, ReadOnlyMemory<byte> First, ReadOnlyMemory<byte> Second)
{
    private const byte FrameChunkTag = (Frame.ChunkFieldNumber << 3) | (int)WireFormat.WireType.LengthDelimited;
    private const byte ChunkDataTag = (Chunk.DataFieldNumber << 3) | (int)WireFormat.WireType.LengthDelimited;

    public int DataLength => First.Length + Second.Length;

    /// <summary>The bytes <see cref="WriteTo"/> writes.</summary>
    public int SerializedSize => FrameSize(ChunkSize(Head.CalculateSize()));

    /// <summary>
    /// Writes the serialized frame, byte for byte what generated code writes for it: data is the chunk's
    /// highest field, so it comes last, and an empty data field is left out.
    /// </summary>
    public void WriteTo(Span<byte> destination)
    {
        if (!Head.Data.IsEmpty)
        {
            throw new InvalidOperationException("An outgoing chunk carries its data in its parts, not in its head.");
        }

        var headSize = Head.CalculateSize();
        var chunkSize = ChunkSize(headSize);
        if (destination.Length != FrameSize(chunkSize))
        {
            throw new ArgumentException($"A {FrameSize(chunkSize)}-byte chunk frame needs exactly that many bytes, not {destination.Length}.", nameof(destination));
        }

        var at = 0;
        destination[at++] = FrameChunkTag;
        at += ProtoFields.WriteVarint(destination[at..], (uint)chunkSize);
        Head.WriteTo(destination.Slice(at, headSize));
        at += headSize;
        if (DataLength > 0)
        {
            destination[at++] = ChunkDataTag;
            at += ProtoFields.WriteVarint(destination[at..], (uint)DataLength);
            First.Span.CopyTo(destination[at..]);
            Second.Span.CopyTo(destination[(at + First.Length)..]);
        }
    }

    /// <summary>The frame as a message, wrapping the data where it lies; only for a chunk in one part (a payload without a separate header).</summary>
    public Frame ToFrame()
    {
        if (!Second.IsEmpty)
        {
            throw new InvalidOperationException("A chunk in two parts is written with WriteTo, not made into a message.");
        }

        return new Frame { Chunk = new Chunk(Head) { Data = UnsafeByteOperations.UnsafeWrap(First) } };
    }

    private static int FrameSize(int chunkSize) => 1 + CodedOutputStream.ComputeLengthSize(chunkSize) + chunkSize;

    private int ChunkSize(int headSize) => headSize + (DataLength == 0 ? 0 : 1 + CodedOutputStream.ComputeLengthSize(DataLength) + DataLength);
}
