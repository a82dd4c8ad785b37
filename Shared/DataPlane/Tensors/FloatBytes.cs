using System.Buffers;
using System.Runtime.InteropServices;

namespace RnnCluster.DataPlane.Tensors;

/// <summary>
/// The bytes of a float buffer as <see cref="Memory{T}"/> of bytes, without copying: on a little-endian
/// host a float buffer already is its wire form, so the chunker can wrap slices of it where it lies
/// (a gradient is tens of megabytes). Big-endian hosts get a swapped copy instead.
/// </summary>
public sealed class FloatBytes : MemoryManager<byte>
{
    private readonly Memory<float> _floats;

    private FloatBytes(Memory<float> floats)
    {
        _floats = floats;
    }

    /// <summary>The little-endian bytes of <paramref name="floats"/>: a view on little-endian hosts, a copy otherwise.</summary>
    public static ReadOnlyMemory<byte> Of(ReadOnlyMemory<float> floats)
    {
        if (floats.IsEmpty)
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        if (!BitConverter.IsLittleEndian)
        {
            var bytes = new byte[floats.Length * sizeof(float)];
            LittleEndianFloats.Write(floats.Span, bytes);
            return bytes;
        }

        // Only ever read through: the writable view is what MemoryManager requires, not what is done with it.
        return new FloatBytes(MemoryMarshal.AsMemory(floats)).Memory;
    }

    public override Span<byte> GetSpan() => MemoryMarshal.AsBytes(_floats.Span);

    public override unsafe MemoryHandle Pin(int elementIndex = 0)
    {
        var floats = _floats.Pin();
        return new MemoryHandle((byte*)floats.Pointer + elementIndex, pinnable: new Pinned(floats));
    }

    public override void Unpin()
    {
        // Each Pin hands out its own handle (see Pinned); nothing is held here.
    }

    protected override void Dispose(bool disposing)
    {
        // Nothing owned: the floats belong to the caller.
    }

    /// <summary>Releases the float buffer's pin when the byte handle is disposed.</summary>
    private sealed class Pinned(MemoryHandle floats) : IPinnable
    {
        private MemoryHandle _floats = floats;

        public MemoryHandle Pin(int elementIndex) => throw new NotSupportedException();

        public void Unpin() => _floats.Dispose();
    }
}
