using System.Buffers;

namespace RnnCluster.Tests.Checkpoints;

/// <summary>
/// Tensor bytes that run an action the first time the writer touches them: throwing simulates a disk
/// failure midway through a commit, cancelling a token simulates shutdown during one. Deterministic,
/// unlike racing a timer against the writer.
/// </summary>
internal sealed class TrippingMemory(byte[] bytes, Action trip) : MemoryManager<byte>
{
    private bool _tripped;

    /// <summary>The bytes as tensor data; unlike <see cref="MemoryManager{T}.Memory"/> this does not touch them, so nothing trips yet.</summary>
    public Memory<byte> Bytes => CreateMemory(bytes.Length);

    public override Span<byte> GetSpan()
    {
        if (!_tripped)
        {
            _tripped = true;
            trip();
        }

        return bytes;
    }

    public override MemoryHandle Pin(int elementIndex = 0) => throw new NotSupportedException();

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }
}
