using Google.Protobuf;
using RnnCluster.DataPlane.Protocol;

namespace RnnCluster.DataPlane;

/// <summary>
/// Splits a payload larger than one frame into <see cref="Chunk"/> frames whose serialized size never
/// exceeds <see cref="FrameLimits.MaxFrameBytes"/>, so the receiver can bound every read. Each call gets
/// a fresh transfer id; ids are per connection (the receiver keys transfers by them).
/// Thread-safe: only the transfer id counter is shared, and it is incremented atomically.
/// </summary>
public sealed class ChunkWriter
{
    /// <summary>
    /// Worst-case bytes a <c>Frame{Chunk}</c> adds around its data: frame field tag + length (1 + 5),
    /// transfer id (1 + 10), index (1 + 5), count (1 + 5), total length (1 + 10), digest (1 + 1 + 16)
    /// and the data field's tag + length (1 + 5). Varints are counted at their maximum so the bound
    /// holds for every id and size.
    /// </summary>
    public const int MaxChunkOverhead = 80;

    private long _lastTransferId;

    public ChunkWriter(FrameLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        limits.Validate();
        MaxChunkDataBytes = limits.MaxFrameBytes - MaxChunkOverhead;
    }

    /// <summary>Payload bytes per chunk; every chunk but the last carries exactly this many.</summary>
    public int MaxChunkDataBytes { get; }

    /// <summary>
    /// Cuts <paramref name="payload"/> into chunk frames (one empty chunk for an empty payload); the last
    /// carries the payload's checksum. The frames wrap slices of <paramref name="payload"/> without
    /// copying (gradient buffers are megabytes), so the caller must not change it until they are written.
    /// </summary>
    public IReadOnlyList<Frame> Split(ReadOnlyMemory<byte> payload) => [.. Split(ReadOnlyMemory<byte>.Empty, payload).Select(c => c.ToFrame())];

    /// <summary>
    /// Chunks the concatenation of <paramref name="header"/> and <paramref name="body"/>, without copying
    /// either: each chunk names the one or two slices it carries, and a chunk straddling the two is
    /// written from both (<see cref="OutgoingChunk.WriteTo"/>). The tensor connections chunk their
    /// <c>Frame { tensor }</c> this way (header bytes, then floats), so the floats are never copied
    /// before the send buffer.
    /// </summary>
    internal OutgoingChunk[] Split(ReadOnlyMemory<byte> header, ReadOnlyMemory<byte> body)
    {
        var transferId = (ulong)Interlocked.Increment(ref _lastTransferId);
        var total = (long)header.Length + body.Length;
        if (total > int.MaxValue)
        {
            throw new ArgumentException($"A payload of {total} bytes is over the 2 GiB a transfer may carry.", nameof(body));
        }

        var length = (int)total;
        var count = length == 0 ? 1 : (length + MaxChunkDataBytes - 1) / MaxChunkDataBytes;
        var hash = PayloadDigest.Compute(header.Span, body.Span);
        var chunks = new OutgoingChunk[count];
        for (var i = 0; i < count; i++)
        {
            var offset = i * MaxChunkDataBytes;
            var size = Math.Min(MaxChunkDataBytes, length - offset);
            var head = new Chunk
            {
                TransferId = transferId,
                Index = (uint)i,
                Count = (uint)count,
                TotalLength = (ulong)length,
            };
            if (i == count - 1)
            {
                head.Digest = UnsafeByteOperations.UnsafeWrap(hash);
            }

            var (first, second) = Slices(header, body, offset, size);
            chunks[i] = new OutgoingChunk(head, first, second);
        }

        return chunks;
    }

    private static (ReadOnlyMemory<byte> First, ReadOnlyMemory<byte> Second) Slices(ReadOnlyMemory<byte> header, ReadOnlyMemory<byte> body, int offset, int size)
    {
        if (offset >= header.Length)
        {
            return (body.Slice(offset - header.Length, size), ReadOnlyMemory<byte>.Empty);
        }

        if (offset + size <= header.Length)
        {
            return (header.Slice(offset, size), ReadOnlyMemory<byte>.Empty);
        }

        var fromHeader = header.Length - offset;
        return (header[offset..], body[..(size - fromHeader)]);
    }
}
