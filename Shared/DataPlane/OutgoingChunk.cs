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
    /// Bytes of the serialized frame that <see cref="WriteLeadTo"/> writes: everything before <see cref="Bulk"/>.
    /// </summary>
    public int LeadSize => SerializedSize - Bulk.Length;

    /// <summary>
    /// The data's part that lies in the payload's floats: <see cref="Second"/> when the chunk straddles
    /// the tensor's header bytes and its floats, else <see cref="First"/>. A socket can send it from where
    /// it lies, after <see cref="WriteLeadTo"/>'s bytes.
    /// </summary>
    public ReadOnlyMemory<byte> Bulk => Second.IsEmpty ? First : Second;

    /// <summary>
    /// Writes the serialized frame, byte for byte what generated code writes for it: data is the chunk's
    /// highest field, so it comes last, and an empty data field is left out.
    /// </summary>
    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length != SerializedSize)
        {
            throw new ArgumentException($"A {SerializedSize}-byte chunk frame needs exactly that many bytes, not {destination.Length}.", nameof(destination));
        }

        var at = WriteLeadTo(destination[..LeadSize]);
        Bulk.Span.CopyTo(destination[at..]);
    }

    /// <summary>
    /// Writes the frame's bytes before <see cref="Bulk"/> (the frame and chunk fields, the data field's tag
    /// and length, and the header part of a straddling chunk's data) into exactly <see cref="LeadSize"/>
    /// bytes; returns how many it wrote.
    /// </summary>
    public int WriteLeadTo(Span<byte> destination)
    {
        if (!Head.Data.IsEmpty)
        {
            throw new InvalidOperationException("An outgoing chunk carries its data in its parts, not in its head.");
        }

        var headSize = Head.CalculateSize();
        var chunkSize = ChunkSize(headSize);
        var leadSize = FrameSize(chunkSize) - Bulk.Length;
        if (destination.Length != leadSize)
        {
            throw new ArgumentException($"A chunk frame's {leadSize} leading bytes need exactly that many, not {destination.Length}.", nameof(destination));
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
            if (!Second.IsEmpty)
            {
                First.Span.CopyTo(destination[at..]);
                at += First.Length;
            }
        }

        return at;
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
