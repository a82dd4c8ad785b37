using System.Buffers;

namespace RnnCluster.DataPlane.Tensors;

/// <summary>
/// A received tensor: its header and its floats in a buffer rented from <see cref="ArrayPool{T}.Shared"/>.
/// The receiver owns it and returns the buffer by disposing it (after summing gradients into an
/// accumulator or copying parameters into a model, say), so steady-state training allocates no new
/// megabyte arrays per step. Forgetting to dispose costs nothing but that reuse: the GC takes the buffer.
/// After <see cref="Dispose"/> the payload is gone. Not thread-safe.
/// </summary>
public sealed class TensorMessage : IDisposable
{
    private float[]? _buffer;

    internal TensorMessage(NodeIdentity peer, TensorHeader header, float[] buffer, int length)
    {
        Peer = peer;
        Header = header;
        _buffer = buffer;
        Length = length;
    }

    /// <summary>The authenticated node that sent it.</summary>
    public NodeIdentity Peer { get; }

    public TensorHeader Header { get; }

    /// <summary>Number of floats.</summary>
    public int Length { get; }

    /// <summary>The floats, exactly <see cref="Length"/> of them (the rented array may be longer); writable, so they can be reduced in place.</summary>
    /// <exception cref="ObjectDisposedException">The message was disposed.</exception>
    public Memory<float> Payload => (_buffer ?? throw new ObjectDisposedException(nameof(TensorMessage))).AsMemory(0, Length);

    /// <summary>Returns the buffer to the pool. Idempotent.</summary>
    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is { Length: > 0 })
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
    }

    public override string ToString() => $"{Header.Kind} ({Length} floats) from {Peer}";
}
