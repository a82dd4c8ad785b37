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
    public int SerializedSize => 1 + CodedOutputStream.ComputeLengthSize(ChunkSize) + ChunkSize;

    private int ChunkSize => Head.CalculateSize() + (DataLength == 0 ? 0 : 1 + CodedOutputStream.ComputeLengthSize(DataLength) + DataLength);

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

        if (!Head.Data.IsEmpty)
        {
            throw new InvalidOperationException("An outgoing chunk carries its data in its parts, not in its head.");
        }

        var at = 0;
        destination[at++] = FrameChunkTag;
        at += ProtoFields.WriteVarint(destination[at..], (uint)ChunkSize);
        var headSize = Head.CalculateSize();
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

    /// <summary>The frame as a message: wraps the data where it lies when it is in one part, joins a copy of it otherwise.</summary>
    public Frame ToFrame()
    {
        var chunk = new Chunk(Head);
        if (Second.IsEmpty)
        {
            chunk.Data = UnsafeByteOperations.UnsafeWrap(First);
        }
        else
        {
            var joined = new byte[DataLength];
            First.Span.CopyTo(joined);
            Second.Span.CopyTo(joined.AsSpan(First.Length));
            chunk.Data = UnsafeByteOperations.UnsafeWrap(joined);
        }

        return new Frame { Chunk = chunk };
    }
}
