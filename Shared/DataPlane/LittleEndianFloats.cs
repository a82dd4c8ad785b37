using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Google.Protobuf;

namespace RnnCluster.DataPlane;

/// <summary>
/// Float buffers (parameters, gradients, stream states) travel as raw little-endian IEEE-754 bytes in a
/// protobuf <c>bytes</c> field: one block copy each way on little-endian hosts, instead of protobuf's
/// element-by-element <c>repeated float</c>. Big-endian hosts swap bytes so the wire stays the same.
/// </summary>
public static class LittleEndianFloats
{
    public static ByteString ToByteString(ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * sizeof(float)];
        Write(values, bytes);

        // The array is ours and never written again, so wrapping it saves a second copy.
        return UnsafeByteOperations.UnsafeWrap(bytes);
    }

    /// <summary>Writes <paramref name="values"/> at the start of <paramref name="bytes"/>; returns the bytes written.</summary>
    public static int Write(ReadOnlySpan<float> values, Span<byte> bytes)
    {
        var length = values.Length * sizeof(float);
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.AsBytes(values).CopyTo(bytes);
        }
        else
        {
            for (var i = 0; i < values.Length; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes[(i * sizeof(float))..], values[i]);
            }
        }

        return length;
    }

    /// <summary>Decodes <paramref name="bytes"/> into the start of <paramref name="values"/>, which must have room; returns the floats written.</summary>
    /// <exception cref="FormatException">The length is not a whole number of floats.</exception>
    public static int Read(ReadOnlySpan<byte> bytes, Span<float> values)
    {
        if (bytes.Length % sizeof(float) != 0)
        {
            throw new FormatException($"A float buffer of {bytes.Length} bytes is not a multiple of {sizeof(float)}.");
        }

        var count = bytes.Length / sizeof(float);
        if (BitConverter.IsLittleEndian)
        {
            bytes.CopyTo(MemoryMarshal.AsBytes(values[..count]));
        }
        else
        {
            for (var i = 0; i < count; i++)
            {
                values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * sizeof(float))..]);
            }
        }

        return count;
    }

    /// <exception cref="FormatException">The length is not a whole number of floats.</exception>
    public static float[] ToArray(ByteString bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return ToArray(bytes.Span);
    }

    /// <summary>Decodes straight into the new array: the one copy a received float buffer needs.</summary>
    /// <exception cref="FormatException">The length is not a whole number of floats.</exception>
    public static float[] ToArray(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length % sizeof(float) != 0)
        {
            throw new FormatException($"A float buffer of {bytes.Length} bytes is not a multiple of {sizeof(float)}.");
        }

        var values = new float[bytes.Length / sizeof(float)];
        Read(bytes, values);
        return values;
    }
}
