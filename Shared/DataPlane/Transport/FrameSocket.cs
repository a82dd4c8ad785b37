using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using Google.Protobuf;
using RnnCluster.DataPlane.Protocol;

namespace RnnCluster.DataPlane.Transport;

/// <summary>
/// One <see cref="Frame"/> per binary WebSocket message, each read into a buffer bounded by
/// <see cref="FrameLimits.MaxFrameBytes"/> so a peer can never make us hold more than one frame per read.
/// One reader and one writer may use it concurrently (what <see cref="WebSocket"/> allows), no more.
/// Cancelling a pending WebSocket operation aborts the socket, so callers cancel only to abort.
/// </summary>
internal sealed class FrameSocket : IDisposable
{
    /// <summary>Serializes <paramref name="frame"/> into exactly <paramref name="destination"/>.</summary>
    private delegate void FrameWriter<in T>(T frame, Span<byte> destination);

    /// <summary>Chunks with at least this many bytes of floats go out as two fragments (see <see cref="SendAsync(OutgoingChunk, CancellationToken)"/>).</summary>
    internal const int FragmentedChunkBytes = 64 * 1024;

    private readonly WebSocket _socket;
    private readonly int _maxFrameBytes;
    private readonly byte[] _overflowProbe = new byte[1];
    private byte[]? _receiveBuffer;

    public FrameSocket(WebSocket socket, int maxFrameBytes)
    {
        _socket = socket;
        _maxFrameBytes = maxFrameBytes;

        // Exactly a frame's limit: a buffer one byte larger would round up to the pool's next size, twice
        // the memory per connection (2 MiB at the default 1 MiB limit). ReceiveAsync tells a frame of
        // exactly the limit from a larger one by one more read.
        _receiveBuffer = ArrayPool<byte>.Shared.Rent(maxFrameBytes);
    }

    public WebSocketState State => _socket.State;

    /// <summary>The status of the peer's close message, once one arrived.</summary>
    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    /// <summary>The reason text of the peer's close message, once one arrived.</summary>
    public string? CloseStatusDescription => _socket.CloseStatusDescription;

    /// <summary>
    /// The next frame, or null when the peer sent its close message. A chunk's data is not copied: it
    /// points into this socket's receive buffer and is valid only until the next call, so the caller
    /// must consume it first (<see cref="ChunkAssembler.Accept"/> copies it). Every other frame owns its bytes.
    /// </summary>
    /// <exception cref="ProtocolViolationException">Text, an oversized frame, or bytes that are not a Frame.</exception>
    public async ValueTask<Frame?> ReceiveAsync(CancellationToken cancellationToken)
    {
        var buffer = _receiveBuffer ?? throw new ObjectDisposedException(nameof(FrameSocket));
        var length = 0;
        while (true)
        {
            // With the buffer full, the message may still end in an empty fragment: any byte more is over the limit.
            var full = length == _maxFrameBytes;
            var result = await _socket.ReceiveAsync(full ? _overflowProbe.AsMemory() : buffer.AsMemory(length, _maxFrameBytes - length), cancellationToken).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            if (result.MessageType != WebSocketMessageType.Binary)
            {
                throw new ProtocolViolationException("sent a text message; frames are binary", WebSocketCloseStatus.InvalidMessageType);
            }

            if (full && result.Count > 0)
            {
                throw new ProtocolViolationException(
                    $"sent a frame over {nameof(FrameLimits.MaxFrameBytes)} = {_maxFrameBytes} bytes", WebSocketCloseStatus.MessageTooBig);
            }

            length += result.Count;
            if (result.EndOfMessage)
            {
                break;
            }
        }

        Frame frame;
        try
        {
            frame = ChunkAssembler.ParseFrame(buffer.AsMemory(0, length));
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or FormatException)
        {
            throw new ProtocolViolationException($"sent {length} bytes that are not a Frame ({e.Message})", WebSocketCloseStatus.ProtocolError);
        }

        if (frame.BodyCase == Frame.BodyOneofCase.None)
        {
            throw new ProtocolViolationException("sent a frame with no body", WebSocketCloseStatus.ProtocolError);
        }

        return frame;
    }

    public ValueTask SendAsync(Frame frame, CancellationToken cancellationToken) =>
        SendAsync(frame, frame.CalculateSize(), static (f, destination) => f.WriteTo(destination), cancellationToken);

    /// <summary>
    /// Sends one chunk frame. A small one is written into one buffer and sent as one WebSocket frame; a
    /// large one as two fragments of the same message: its leading bytes from a small buffer, then its
    /// floats from where they lie (<see cref="OutgoingChunk.Bulk"/>). The WebSocket copies every payload
    /// into its own send buffer anyway, so joining them into ours first was a second copy of every
    /// gradient byte sent. The receiver reads a message, fragments or not, into one frame.
    /// </summary>
    public async ValueTask SendAsync(OutgoingChunk chunk, CancellationToken cancellationToken)
    {
        if (chunk.Bulk.Length < FragmentedChunkBytes)
        {
            await SendAsync(chunk, chunk.SerializedSize, static (c, destination) => c.WriteTo(destination), cancellationToken).ConfigureAwait(false);
            return;
        }

        ThrowIfOversized(chunk.SerializedSize);

        var leadSize = chunk.LeadSize;
        var lead = ArrayPool<byte>.Shared.Rent(leadSize);
        try
        {
            chunk.WriteLeadTo(lead.AsSpan(0, leadSize));
            await _socket.SendAsync(lead.AsMemory(0, leadSize), WebSocketMessageType.Binary, endOfMessage: false, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(lead);
        }

        await _socket.SendAsync(chunk.Bulk, WebSocketMessageType.Binary, endOfMessage: true, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask SendAsync<T>(T frame, int size, FrameWriter<T> write, CancellationToken cancellationToken)
    {
        ThrowIfOversized(size);

        var buffer = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            write(frame, buffer.AsSpan(0, size));
            await _socket.SendAsync(buffer.AsMemory(0, size), WebSocketMessageType.Binary, endOfMessage: true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void ThrowIfOversized(int size)
    {
        if (size > _maxFrameBytes)
        {
            // Our own bug (the sender chunks anything larger); the peer would close on it anyway.
            throw new InvalidOperationException($"A {size}-byte frame exceeds {nameof(FrameLimits.MaxFrameBytes)} = {_maxFrameBytes}.");
        }
    }

    /// <summary>Sends this side's close message if the socket still can; never throws (the connection is ending anyway).</summary>
    public async ValueTask TryCloseOutputAsync(WebSocketCloseStatus status, string reason, CancellationToken cancellationToken)
    {
        if (_socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            return;
        }

        try
        {
            await _socket.CloseOutputAsync(status, Truncate(reason), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            _socket.Abort();
        }
    }

    /// <summary>
    /// Tells a peer being turned away why, and reads (discarding) until its close reply or
    /// <paramref name="cancellationToken"/>, then aborts: waiting for the reply is what makes the reason
    /// reach the peer, instead of a reset that may discard it unread. Never throws.
    /// </summary>
    public async Task CloseAndDrainAsync(WebSocketCloseStatus status, string reason, CancellationToken cancellationToken)
    {
        await TryCloseOutputAsync(status, reason, cancellationToken).ConfigureAwait(false);
        try
        {
            while (await ReceiveAsync(cancellationToken).ConfigureAwait(false) is not null)
            {
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException or ProtocolViolationException)
        {
            // Gone or misbehaving: it is being dropped either way.
        }

        _socket.Abort();
    }

    public void Abort() => _socket.Abort();

    public void Dispose()
    {
        _socket.Dispose();
        var buffer = Interlocked.Exchange(ref _receiveBuffer, null);
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// A close reason is at most 123 UTF-8 bytes (RFC 6455). Ours are ASCII and cut at 120 characters;
    /// reasons from the peer gate or a caller's goodbye may not be, so the cut also
    /// respects the byte limit and never splits a surrogate pair.
    /// </summary>
    private static string Truncate(string reason)
    {
        const int MaxBytes = 123;
        var length = Math.Min(reason.Length, 120);
        while (length > 0 && Encoding.UTF8.GetByteCount(reason.AsSpan(0, length)) > MaxBytes)
        {
            length--;
        }

        if (length > 0 && length < reason.Length && char.IsHighSurrogate(reason[length - 1]))
        {
            length--;
        }

        return length == reason.Length ? reason : reason[..length];
    }
}
