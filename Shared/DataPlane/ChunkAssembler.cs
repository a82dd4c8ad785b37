using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using Google.Protobuf;
using RnnCluster.DataPlane.Protocol;

namespace RnnCluster.DataPlane;

/// <summary>
/// Reassembles chunked transfers from one peer (one instance per connection). Chunks may arrive in
/// any order; duplicates are ignored. Memory is bounded by <see cref="FrameLimits.MaxInFlightBytesPerPeer"/>,
/// and a transfer that stops receiving chunks is dropped after <see cref="FrameLimits.AbandonedTransferTimeout"/>.
/// Abandoned transfers are dropped whenever a chunk arrives; a connection that goes quiet with one
/// unfinished is the caller's to time out (the tensor connections' transfer timeout).
/// Any exception from <see cref="Accept"/> discards the offending transfer; the caller should then
/// close the connection, since the peer is broken or hostile.
/// Thread-safe: the connection's reader and its stall timer may call in concurrently.
/// </summary>
public sealed class ChunkAssembler
{
    /// <summary>
    /// Smallest data a non-final chunk may carry. Bounding chunk size from below bounds the chunk count
    /// by the declared length, so a forged <c>count</c> cannot make us allocate a huge index array.
    /// </summary>
    public const int MinChunkDataBytes = FrameLimits.MinFrameBytes - ChunkWriter.MaxChunkOverhead;

    private const int DigestBytes = PayloadDigest.Bytes;

    /// <summary>The first byte of a serialized chunk frame: field <see cref="Frame.ChunkFieldNumber"/>, length-delimited.</summary>
    private const byte ChunkTag = (Frame.ChunkFieldNumber << 3) | (int)WireFormat.WireType.LengthDelimited;

    private readonly FrameLimits _limits;
    private readonly TimeProvider _time;
    private readonly Dictionary<ulong, Transfer> _transfers = [];
    private readonly Lock _gate = new();
    private long _bufferedBytes;

    public ChunkAssembler(string peer, FrameLimits limits, TimeProvider timeProvider)
    {
        ArgumentException.ThrowIfNullOrEmpty(peer);
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(timeProvider);
        Peer = peer;
        _limits = limits.Validate();
        _time = timeProvider;
    }

    /// <summary>The peer named in limit and integrity errors.</summary>
    public string Peer { get; }

    /// <summary>Chunk bytes held for incomplete transfers.</summary>
    public long BufferedBytes
    {
        get
        {
            lock (_gate)
            {
                return _bufferedBytes;
            }
        }
    }

    public int PendingTransfers
    {
        get
        {
            lock (_gate)
            {
                return _transfers.Count;
            }
        }
    }

    /// <summary>
    /// Adds one chunk. Returns true with the whole payload when this chunk completed its transfer and
    /// the checksum matched; false while the transfer is incomplete or the chunk was a duplicate.
    /// </summary>
    /// <exception cref="FrameLimitExceededException">The chunk or transfer would exceed a limit.</exception>
    /// <exception cref="ChunkProtocolException">The chunk is inconsistent with the rules or its transfer.</exception>
    /// <exception cref="ChunkIntegrityException">The reassembled payload does not match its checksum.</exception>
    public bool Accept(Chunk chunk, [NotNullWhen(true)] out byte[]? payload) =>
        Accept(chunk, static parts => parts.ToArray(), out payload);

    /// <summary>
    /// Like <see cref="Accept(Chunk, out byte[])"/>, but a completed transfer is not joined into one
    /// array: once its checksum matched, <paramref name="consume"/> gets its chunks in order as a
    /// sequence and copies out what it needs, where it belongs (the tensor connections copy floats
    /// straight into the receiver's buffer). The sequence is valid only during the call. An exception
    /// from <paramref name="consume"/> propagates; the transfer is dropped either way.
    /// </summary>
    internal bool Accept<T>(Chunk chunk, Func<ReadOnlySequence<byte>, T> consume, [NotNullWhen(true)] out T? result)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(chunk);
        ArgumentNullException.ThrowIfNull(consume);
        result = null;
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            RemoveAbandonedLocked(now);

            try
            {
                var transfer = FindOrStart(chunk, now);
                if (transfer.Holds(chunk, now, Peer))
                {
                    return false;
                }

                CheckBudget(chunk);
                transfer.Add(chunk, Peer);
                _bufferedBytes += chunk.Data.Length;
                if (!transfer.IsComplete)
                {
                    return false;
                }

                // Consume before forgetting: forgetting returns the chunks' arrays to the pool.
                try
                {
                    result = consume(transfer.Verified(Peer));
                    return true;
                }
                finally
                {
                    Forget(chunk.TransferId);
                }
            }
            catch (Exception e) when (e is FrameLimitExceededException or ChunkProtocolException or ChunkIntegrityException)
            {
                Forget(chunk.TransferId);
                throw;
            }
        }
    }

    /// <summary>
    /// Parses a received frame; a chunk frame (the only large kind) without copying its data out of
    /// <paramref name="bytes"/>, which saves a megabyte allocation per chunk: the chunk's data is valid
    /// only as long as <paramref name="bytes"/> is, and <see cref="Accept"/> copies it. Anything but
    /// the usual single chunk field goes through the generated parser, with its semantics.
    /// </summary>
    /// <exception cref="FormatException">Not well-formed protobuf.</exception>
    /// <exception cref="InvalidProtocolBufferException">The fields do not parse as a Frame.</exception>
    public static Frame ParseFrame(ReadOnlyMemory<byte> bytes)
    {
        if (bytes.IsEmpty || bytes.Span[0] != ChunkTag)
        {
            return Frame.Parser.ParseFrom(bytes.Span);
        }

        Span<(int Offset, int Length)> body = stackalloc (int, int)[1];
        var outer = ProtoFields.ParseExcept(bytes.Span, Frame.Parser, [Frame.ChunkFieldNumber], body);
        if (outer.BodyCase != Frame.BodyOneofCase.None)
        {
            return Frame.Parser.ParseFrom(bytes.Span);
        }

        var inner = bytes.Slice(body[0].Offset, body[0].Length);
        Span<(int Offset, int Length)> data = stackalloc (int, int)[1];
        var chunk = ProtoFields.ParseExcept(inner.Span, Chunk.Parser, [Chunk.DataFieldNumber], data);
        chunk.Data = UnsafeByteOperations.UnsafeWrap(inner.Slice(data[0].Offset, data[0].Length));
        return new Frame { Chunk = chunk };
    }

    private void RemoveAbandonedLocked(long now)
    {
        List<ulong>? stale = null;
        foreach (var (id, transfer) in _transfers)
        {
            if (_time.GetElapsedTime(transfer.LastActivity, now) >= _limits.AbandonedTransferTimeout)
            {
                (stale ??= []).Add(id);
            }
        }

        foreach (var id in stale ?? [])
        {
            Forget(id);
        }
    }

    private Transfer FindOrStart(Chunk chunk, long now)
    {
        if (chunk.Data.Length > _limits.MaxFrameBytes)
        {
            throw new FrameLimitExceededException(
                nameof(FrameLimits.MaxFrameBytes), _limits.MaxFrameBytes, chunk.Data.Length, Peer);
        }

        if (_transfers.TryGetValue(chunk.TransferId, out var existing))
        {
            existing.CheckSameShape(chunk, Peer);
            return existing;
        }

        ValidateShape(chunk);
        var transfer = new Transfer(chunk.TransferId, chunk.Count, chunk.TotalLength, now);
        _transfers.Add(chunk.TransferId, transfer);
        return transfer;
    }

    private void ValidateShape(Chunk chunk)
    {
        // Refuse up front what could never complete, before buffering any of it.
        if (chunk.TotalLength > (ulong)_limits.MaxInFlightBytesPerPeer)
        {
            throw new FrameLimitExceededException(
                nameof(FrameLimits.MaxInFlightBytesPerPeer),
                _limits.MaxInFlightBytesPerPeer,
                (long)Math.Min(chunk.TotalLength, long.MaxValue),
                Peer);
        }

        var maxCount = Math.Max(1UL, (chunk.TotalLength + MinChunkDataBytes - 1) / MinChunkDataBytes);
        if (chunk.Count == 0 || chunk.Count > maxCount)
        {
            throw new ChunkProtocolException(
                chunk.TransferId, Peer, $"count {chunk.Count} is impossible for {chunk.TotalLength} bytes (at most {maxCount}).");
        }
    }

    private void CheckBudget(Chunk chunk)
    {
        var needed = _bufferedBytes + chunk.Data.Length;
        if (needed > _limits.MaxInFlightBytesPerPeer)
        {
            throw new FrameLimitExceededException(
                nameof(FrameLimits.MaxInFlightBytesPerPeer), _limits.MaxInFlightBytesPerPeer, needed, Peer);
        }
    }

    private void Forget(ulong transferId)
    {
        if (_transfers.Remove(transferId, out var transfer))
        {
            _bufferedBytes -= transfer.ReceivedBytes;
            transfer.Release();
        }
    }

    /// <summary>
    /// One incomplete transfer. Each chunk's data is copied into a pooled array as it arrives: the
    /// caller's chunk may point into a receive buffer it reuses (see FrameSocket), and renting instead
    /// of allocating spares the large-object heap a megabyte array per chunk. The arrays go back to the
    /// pool when the transfer is assembled or dropped (<see cref="Release"/>), always under the
    /// assembler's lock.
    /// </summary>
    private sealed class Transfer(ulong id, uint count, ulong totalLength, long now)
    {
        private readonly byte[]?[] _parts = new byte[]?[count];
        private readonly int[] _lengths = new int[count];
        private uint _received;
        private byte[]? _digest;

        public long LastActivity { get; private set; } = now;

        public long ReceivedBytes { get; private set; }

        public bool IsComplete => _received == count;

        public void CheckSameShape(Chunk chunk, string peer)
        {
            if (chunk.Count != count || chunk.TotalLength != totalLength)
            {
                throw new ChunkProtocolException(
                    id,
                    peer,
                    $"chunk {chunk.Index} declares count {chunk.Count} and length {chunk.TotalLength}, the transfer began with {count} and {totalLength}.");
            }
        }

        /// <summary>
        /// Checks the index and records activity; true when this index is already held. Duplicates are
        /// ignored rather than refused: keeping the first copy is harmless, and the hash covers it.
        /// </summary>
        public bool Holds(Chunk chunk, long now, string peer)
        {
            if (chunk.Index >= count)
            {
                throw new ChunkProtocolException(id, peer, $"chunk index {chunk.Index} is outside [0, {count}).");
            }

            LastActivity = now;
            return _parts[chunk.Index] is not null;
        }

        public void Add(Chunk chunk, string peer)
        {
            var isLast = chunk.Index == count - 1;
            if (isLast != (chunk.Digest.Length > 0) || (isLast && chunk.Digest.Length != DigestBytes))
            {
                throw new ChunkProtocolException(
                    id, peer, $"chunk {chunk.Index} of {count} has a {chunk.Digest.Length}-byte hash; only the last carries one, of {DigestBytes} bytes.");
            }

            if (!isLast && chunk.Data.Length < MinChunkDataBytes)
            {
                throw new ChunkProtocolException(
                    id, peer, $"chunk {chunk.Index} carries {chunk.Data.Length} bytes; non-final chunks carry at least {MinChunkDataBytes}.");
            }

            if ((ulong)ReceivedBytes + (ulong)chunk.Data.Length > totalLength)
            {
                throw new ChunkProtocolException(id, peer, $"chunks carry more than the declared {totalLength} bytes.");
            }

            var part = ArrayPool<byte>.Shared.Rent(chunk.Data.Length);
            chunk.Data.Span.CopyTo(part);
            _parts[chunk.Index] = part;
            _lengths[chunk.Index] = chunk.Data.Length;
            if (isLast)
            {
                _digest = chunk.Digest.ToByteArray();
            }

            _received++;
            ReceivedBytes += chunk.Data.Length;
        }

        /// <summary>The complete payload as a sequence over the chunks' arrays, once its length and checksum are right.</summary>
        public ReadOnlySequence<byte> Verified(string peer)
        {
            if ((ulong)ReceivedBytes != totalLength)
            {
                throw new ChunkProtocolException(id, peer, $"chunks carry {ReceivedBytes} bytes, the transfer declared {totalLength}.");
            }

            Segment? first = null;
            Segment? last = null;
            for (var i = 0; i < _parts.Length; i++)
            {
                last = new Segment(_parts[i].AsMemory(0, _lengths[i]), last);
                first ??= last;
            }

            var payload = new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
            return PayloadDigest.Matches(payload, _digest) ? payload : throw new ChunkIntegrityException(id, peer);
        }

        /// <summary>Returns the chunks' arrays to the pool; called once, when the transfer is forgotten.</summary>
        public void Release()
        {
            for (var i = 0; i < _parts.Length; i++)
            {
                if (_parts[i] is { } part)
                {
                    ArrayPool<byte>.Shared.Return(part);
                    _parts[i] = null;
                }
            }
        }
    }

    /// <summary>One chunk's bytes as a link of the sequence <see cref="Transfer.Verified"/> returns.</summary>
    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, Segment? previous)
        {
            Memory = memory;
            if (previous is not null)
            {
                RunningIndex = previous.RunningIndex + previous.Memory.Length;
                previous.Next = this;
            }
        }
    }
}
