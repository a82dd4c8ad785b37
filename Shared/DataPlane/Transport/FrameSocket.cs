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

    private readonly WebSocket _socket;
    private readonly int _maxFrameBytes;
    private byte[]? _receiveBuffer;

    public FrameSocket(WebSocket socket, int maxFrameBytes)
    {
        _socket = socket;
        _maxFrameBytes = maxFrameBytes;

        // One byte more than a frame may hold: filling it is how an oversized frame is detected.
        _receiveBuffer = ArrayPool<byte>.Shared.Rent(maxFrameBytes + 1);
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
            var result = await _socket.ReceiveAsync(buffer.AsMemory(length, _maxFrameBytes + 1 - length), cancellationToken).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            if (result.MessageType != WebSocketMessageType.Binary)
            {
                throw new ProtocolViolationException("sent a text message; frames are binary", WebSocketCloseStatus.InvalidMessageType);
            }

            length += result.Count;
            if (length > _maxFrameBytes)
            {
                throw new ProtocolViolationException(
                    $"sent a frame over {nameof(FrameLimits.MaxFrameBytes)} = {_maxFrameBytes} bytes", WebSocketCloseStatus.MessageTooBig);
            }

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

    /// <summary>Sends one chunk frame, written from where its data lies straight into the send buffer.</summary>
    public ValueTask SendAsync(OutgoingChunk chunk, CancellationToken cancellationToken) =>
        SendAsync(chunk, chunk.SerializedSize, static (c, destination) => c.WriteTo(destination), cancellationToken);

    private async ValueTask SendAsync<T>(T frame, int size, FrameWriter<T> write, CancellationToken cancellationToken)
    {
        if (size > _maxFrameBytes)
        {
            // Our own bug (the sender chunks anything larger); the peer would close on it anyway.
            throw new InvalidOperationException($"A {size}-byte frame exceeds {nameof(FrameLimits.MaxFrameBytes)} = {_maxFrameBytes}.");
        }

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
