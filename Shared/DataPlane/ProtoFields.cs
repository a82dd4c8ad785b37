using System.Buffers;
using Google.Protobuf;

namespace RnnCluster.DataPlane;

/// <summary>
/// Protobuf encoding of messages whose large <c>bytes</c> fields are handled apart from the rest, so
/// megabytes of floats are neither copied into a <see cref="ByteString"/> on the way out nor copied
/// out of one on the way in. The bytes on the wire are ordinary protobuf of the same schema (only
/// the field order differs where <see cref="FloatMessage"/> appends its fields last, which every
/// protobuf parser accepts), so a peer parsing with generated code reads the same message.
/// </summary>
internal static class ProtoFields
{
    /// <summary>
    /// Parses <paramref name="bytes"/> as <typeparamref name="T"/> except the length-delimited fields
    /// numbered in <paramref name="fields"/>: those are skipped by the parser and their contents
    /// returned in <paramref name="found"/> (same positions) as (offset, length) in
    /// <paramref name="bytes"/>, offset 0 when absent (a present field's contents follow its tag, so
    /// never start at 0). As protobuf does for a scalar field, the last occurrence wins.
    /// </summary>
    /// <exception cref="FormatException">The bytes are not well-formed protobuf.</exception>
    /// <exception cref="InvalidProtocolBufferException">The other fields do not parse as <typeparamref name="T"/>.</exception>
    public static T ParseExcept<T>(
        ReadOnlySpan<byte> bytes, MessageParser<T> parser, ReadOnlySpan<int> fields, Span<(int Offset, int Length)> found)
        where T : IMessage<T>
    {
        ArgumentNullException.ThrowIfNull(parser);
        if (found.Length != fields.Length)
        {
            throw new ArgumentException($"{nameof(found)} must have one slot per field.", nameof(found));
        }

        found.Clear();

        // FloatMessage puts the taken fields after all others, so the parser usually gets the bytes
        // before the first of them as they lie. Only a writer that puts other fields after one (generated
        // code, in field-number order) costs a copy of everything else (CopyAllBut).
        var firstTaken = -1;
        var interleaved = false;
        var position = 0;
        while (position < bytes.Length)
        {
            var tagStart = position;
            var (field, wireType) = ReadTag(bytes, ref position);
            var slot = wireType == WireFormat.WireType.LengthDelimited ? fields.IndexOf(field) : -1;
            if (slot < 0)
            {
                interleaved |= firstTaken >= 0;
                Skip(bytes, ref position, wireType);
                continue;
            }

            var length = ReadLength(bytes, ref position);
            found[slot] = (position, length);
            position += length;
            if (firstTaken < 0)
            {
                firstTaken = tagStart;
            }
        }

        return parser.ParseFrom(interleaved ? CopyAllBut(bytes, fields) : firstTaken < 0 ? bytes : bytes[..firstTaken]);
    }

    /// <summary>The bytes of every field but the length-delimited ones numbered in <paramref name="fields"/>, in order.</summary>
    private static ReadOnlySpan<byte> CopyAllBut(ReadOnlySpan<byte> bytes, ReadOnlySpan<int> fields)
    {
        var rest = new ArrayBufferWriter<byte>(bytes.Length);
        var position = 0;
        var copiedUpTo = 0;
        while (position < bytes.Length)
        {
            var tagStart = position;
            var (field, wireType) = ReadTag(bytes, ref position);
            if (wireType != WireFormat.WireType.LengthDelimited || fields.IndexOf(field) < 0)
            {
                Skip(bytes, ref position, wireType);
                continue;
            }

            var length = ReadLength(bytes, ref position);
            position += length;

            // Hand the parser everything but this field: copy what lies between the fields we take.
            rest.Write(bytes[copiedUpTo..tagStart]);
            copiedUpTo = position;
        }

        rest.Write(bytes[copiedUpTo..]);
        return rest.WrittenSpan;
    }

    private static (int Field, WireFormat.WireType WireType) ReadTag(ReadOnlySpan<byte> bytes, ref int position)
    {
        var tagStart = position;
        var tag = ReadVarint(bytes, ref position);
        var field = (int)(tag >> 3);
        if (field == 0 || tag > uint.MaxValue)
        {
            throw new FormatException($"Invalid protobuf tag {tag} at offset {tagStart}.");
        }

        return (field, (WireFormat.WireType)(tag & 7));
    }

    private static void Skip(ReadOnlySpan<byte> bytes, ref int position, WireFormat.WireType wireType)
    {
        switch (wireType)
        {
            case WireFormat.WireType.Varint:
                ReadVarint(bytes, ref position);
                return;
            case WireFormat.WireType.Fixed64:
                Advance(bytes, ref position, 8);
                return;
            case WireFormat.WireType.Fixed32:
                Advance(bytes, ref position, 4);
                return;
            case WireFormat.WireType.LengthDelimited:
                var length = ReadLength(bytes, ref position);
                position += length;
                return;
            default:
                // Groups are proto2 only; none of our messages has one.
                throw new FormatException($"Unsupported protobuf wire type {wireType} before offset {position}.");
        }
    }

    private static void Advance(ReadOnlySpan<byte> bytes, ref int position, int count)
    {
        if (bytes.Length - position < count)
        {
            throw new FormatException($"Truncated protobuf: {count} bytes expected at offset {position}.");
        }

        position += count;
    }

    private static int ReadLength(ReadOnlySpan<byte> bytes, ref int position)
    {
        var length = ReadVarint(bytes, ref position);
        if (length > (ulong)(bytes.Length - position))
        {
            throw new FormatException($"A protobuf field of {length} bytes at offset {position} runs past the {bytes.Length}-byte message.");
        }

        return (int)length;
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> bytes, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (position >= bytes.Length)
            {
                throw new FormatException("Truncated protobuf varint.");
            }

            var b = bytes[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw new FormatException($"Malformed protobuf varint before offset {position}.");
    }

    /// <summary>Writes <paramref name="value"/> as a protobuf varint; returns the bytes written (at most 5).</summary>
    internal static int WriteVarint(Span<byte> output, uint value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            output[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        output[i++] = (byte)value;
        return i;
    }
}

/// <summary>
/// A message whose large float fields are written after the rest: <c>rest</c> (its float fields left
/// empty) followed by each non-empty buffer as the little-endian <c>bytes</c> field it names, one copy of
/// the floats. It is sized before it is written, so the caller chooses where it goes: a step message is
/// written straight into the pooled payload of its tensor instead of into an array of its own and then
/// copied there.
/// </summary>
internal readonly struct FloatMessage
{
    private readonly IMessage _rest;
    private readonly (int Field, float[] Values)[] _floats;
    private readonly int _restSize;

    /// <exception cref="ArgumentException">The message would be over protobuf's 2 GiB.</exception>
    public FloatMessage(IMessage rest, params (int Field, float[] Values)[] floats)
    {
        ArgumentNullException.ThrowIfNull(rest);
        ArgumentNullException.ThrowIfNull(floats);
        _rest = rest;
        _floats = floats;
        _restSize = rest.CalculateSize();
        long size = _restSize;
        foreach (var (field, values) in floats)
        {
            if (values.Length > 0)
            {
                var length = (long)values.Length * sizeof(float);
                size += CodedOutputStream.ComputeTagSize(field) + CodedOutputStream.ComputeLengthSize((int)Math.Min(length, int.MaxValue)) + length;
            }
        }

        if (size > int.MaxValue)
        {
            throw new ArgumentException($"A message of {size} bytes is over protobuf's 2 GiB.", nameof(floats));
        }

        Size = (int)size;
    }

    /// <summary>Bytes <see cref="WriteTo"/> writes.</summary>
    public int Size { get; }

    /// <summary>Writes the message into the first <see cref="Size"/> bytes of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        var bytes = destination[..Size];
        _rest.WriteTo(bytes[.._restSize]);
        var offset = _restSize;
        foreach (var (field, values) in _floats)
        {
            if (values.Length == 0)
            {
                continue; // proto3 omits an empty bytes field, as generated code would.
            }

            offset += ProtoFields.WriteVarint(bytes[offset..], WireFormat.MakeTag(field, WireFormat.WireType.LengthDelimited));
            offset += ProtoFields.WriteVarint(bytes[offset..], (uint)(values.Length * sizeof(float)));
            offset += LittleEndianFloats.Write(values, bytes[offset..]);
        }
    }

    /// <summary>The message in an array of its own.</summary>
    public ByteString ToByteString()
    {
        var bytes = new byte[Size];
        WriteTo(bytes);
        // The array is ours and never written again, so wrapping it saves a copy.
        return UnsafeByteOperations.UnsafeWrap(bytes);
    }
}
