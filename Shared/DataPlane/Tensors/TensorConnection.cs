using System.Buffers;
using System.Net.WebSockets;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using RnnCluster.DataPlane.Protocol;
using RnnCluster.DataPlane.Transport;

namespace RnnCluster.DataPlane.Tensors;

/// <summary>
/// One authenticated tensor connection to <see cref="Peer"/>, its own TCP connection. Tensors go out
/// whole and in order (<see cref="SendAsync"/> takes one at a time) and come in through
/// <see cref="ReceiveAsync"/> in the order sent. The connection ends once, for one
/// <see cref="ConnectionEndReason"/>, which <see cref="Completion"/> reports as soon as the socket is
/// done; a peer process that dies is seen at once, because its kernel resets or closes the TCP
/// connection. Anything the peer does wrong ends this connection only.
/// </summary>
/// <remarks>
/// A background reader takes frames off the socket all the time (so a reset or goodbye is noticed
/// while the application is busy), reassembles and checks each tensor, and holds up to
/// <see cref="TensorTransportOptions.ReceiveCapacity"/> of them for <see cref="ReceiveAsync"/>; when
/// they are not taken it stops reading, which pushes back onto the peer (and defers noticing its end
/// until the application receives again). Sends, close messages and replies share one lock, so a
/// close never lands between the chunks of a tensor.
/// </remarks>
public sealed class TensorConnection : IAsyncDisposable
{
    private readonly FrameSocket _socket;
    private readonly TensorTransportOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ChunkWriter _chunks;
    private readonly ChunkAssembler _assembler;
    private readonly Channel<TensorMessage> _inbox;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly CancellationTokenSource _ending = new();
    private readonly TaskCompletionSource<ConnectionEnd> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private readonly Func<ReadOnlySequence<byte>, TensorMessage> _unpack;
    private ConnectionEnd? _end;
    private Task _reading = Task.CompletedTask;
    private ITimer? _transferTimer;
    private long _transferSerial;
    private ITimer? _abortTimer;
    private int _disposed;
    private Action<TensorConnection>? _finished;
    private SharedRing? _outRing;      // offered to the peer; used once it accepts
    private volatile bool _outRingAccepted;
    private SharedRing? _inRing;       // the peer's, accepted; read by the reader only
    private long _sharedBytesSent;
    private readonly TaskCompletionSource<bool> _ringAnswered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal TensorConnection(
        FrameSocket socket, NodeIdentity local, NodeIdentity peer, bool outbound, TensorTransportOptions options, TimeProvider timeProvider, ILogger logger)
    {
        _socket = socket;
        Local = local;
        Peer = peer;
        Outbound = outbound;
        _options = options;
        _time = timeProvider;
        _logger = logger;
        _chunks = new ChunkWriter(options.Limits);
        _assembler = new ChunkAssembler(peer.ToString(), options.Limits, timeProvider);
        _unpack = Unpack;
        _inbox = Channel.CreateBounded<TensorMessage>(
            new BoundedChannelOptions(options.ReceiveCapacity) { SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
    }

    /// <summary>This node, as the peer authenticated it.</summary>
    public NodeIdentity Local { get; }

    /// <summary>The authenticated peer (its address and incarnation, proved in the handshake).</summary>
    public NodeIdentity Peer { get; }

    /// <summary>True when this node dialled the connection.</summary>
    public bool Outbound { get; }

    /// <summary>
    /// Completes with whether this side sends through shared memory: true once the peer accepted its ring,
    /// false when it declined, when no ring could be made or shared memory is off here, or when the
    /// connection ended first.
    /// </summary>
    public Task<bool> SharedMemoryAnswered => _ringAnswered.Task;

    /// <summary>Payload bytes sent through shared memory rather than the socket.</summary>
    public long SharedBytesSent => Interlocked.Read(ref _sharedBytesSent);

    /// <summary>Why the connection ended; null while it is open. Set before <see cref="Completion"/> completes.</summary>
    public ConnectionEnd? End
    {
        get
        {
            lock (_gate)
            {
                return _end;
            }
        }
    }

    /// <summary>
    /// Completes, never faulted, with why the connection ended once its socket is done: at once for a
    /// peer that is gone, after the close handshake (bounded by <see cref="TensorTransportOptions.CloseTimeout"/>)
    /// for a goodbye either way.
    /// </summary>
    public Task<ConnectionEnd> Completion => _completion.Task;

    /// <summary>
    /// Sends one tensor: <paramref name="header"/>, then <paramref name="payload"/> chunked with the
    /// payload checksum. Completes when the last chunk is written to the socket; the floats are read in
    /// place until then, so <paramref name="payload"/> must not change before this returns, and may be
    /// reused after. Concurrent calls queue; each tensor goes out whole.
    /// </summary>
    /// <exception cref="ArgumentException">The header is invalid, or the tensor is larger than the peer accepts (<see cref="FrameLimits.MaxInFlightBytesPerPeer"/>).</exception>
    /// <exception cref="TensorConnectionException">
    /// The connection has ended or ends meanwhile; <see cref="ConnectionEndReason.Stalled"/> when the
    /// peer took nothing for <see cref="TensorTransportOptions.TransferTimeout"/> (the connection is then aborted).
    /// </exception>
    /// <exception cref="OperationCanceledException">
    /// <paramref name="cancellationToken"/> was cancelled. Before the first chunk went out the connection
    /// is unharmed; after, it is aborted (the peer would otherwise hold half a tensor).
    /// </exception>
    public async Task SendAsync(TensorHeader header, ReadOnlyMemory<float> payload, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(header);
        header.Validate();
        var bytes = (long)payload.Length * sizeof(float);
        if (bytes > _options.Limits.MaxInFlightBytesPerPeer)
        {
            throw new ArgumentException(
                $"A tensor of {payload.Length} floats ({bytes} bytes) is over {nameof(FrameLimits.MaxInFlightBytesPerPeer)} = {_options.Limits.MaxInFlightBytesPerPeer}, which the peer would refuse.",
                nameof(payload));
        }

        ThrowIfEnded();
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfEnded();
            cancellationToken.ThrowIfCancellationRequested();
            var chunks = TrySendShared(payload, out var shared)
                ? TensorWire.Split(_chunks, header.ToWire(), ReadOnlyMemory<byte>.Empty, shared)
                : TensorWire.Split(_chunks, header.ToWire(), FloatBytes.Of(payload));
            var progress = new Outgoing(chunks.Length);

            // A stall or a cancellation records the end first and then aborts the socket (through
            // _ending), so the reader, which sees the abort, never gets to call it a lost connection.
            using var stall = _time.CreateTimer(_ => Stalled(header.Kind, bytes, progress), null, _options.TransferTimeout, Timeout.InfiniteTimeSpan);
            using var cancel = cancellationToken.Register(() => Cancelled(header.Kind, progress));
            try
            {
                foreach (var chunk in chunks)
                {
                    await _socket.SendAsync(chunk, _ending.Token).ConfigureAwait(false);
                    progress.Wrote();
                }

                if (progress.Finish())
                {
                    return;
                }
            }
            catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException or ObjectDisposedException)
            {
                TrySetEnd(new ConnectionEnd(ConnectionEndReason.ClosedWithoutGoodbye, Peer.ToString(), $"connection lost while sending: {e.Message}"));
                _socket.Abort();
                cancellationToken.ThrowIfCancellationRequested();
                throw new TensorConnectionException(End!, e);
            }

            // The timer or the token won the race against the last chunk: the end they set stands.
            cancellationToken.ThrowIfCancellationRequested();
            throw new TensorConnectionException(End!);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>
    /// The next tensor, in the order the peer sent them. Tensors that arrived before the connection
    /// ended are still returned; after them this throws. The caller owns the message: dispose it to
    /// return its buffer to the pool. Waits as long as the peer sends nothing: bound the wait with
    /// <paramref name="cancellationToken"/> (a silent peer is not a stalled transfer).
    /// </summary>
    /// <exception cref="TensorConnectionException">The connection has ended and nothing is left; <see cref="TensorConnectionException.End"/> says why.</exception>
    public async ValueTask<TensorMessage> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _inbox.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException e)
        {
            throw new TensorConnectionException(End!, e);
        }
    }

    /// <summary>
    /// Says goodbye: waits for a tensor being sent to finish (up to the close timeout), sends the close
    /// message with <paramref name="reason"/> (the peer sees <see cref="ConnectionEndReason.Goodbye"/>
    /// with it) and waits, bounded, for the peer's reply. Idempotent; tensors arriving meanwhile are dropped.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled; the connection is then aborted.</exception>
    public Task CloseAsync(string reason, CancellationToken cancellationToken = default) =>
        CloseAsync(WebSocketCloseStatus.NormalClosure, reason, cancellationToken);

    /// <summary>Closes (a goodbye, if still open), waits for the reader, and returns the buffers of tensors never received.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await CloseAsync(WebSocketCloseStatus.NormalClosure, "closed", CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            await _reading.ConfigureAwait(false);
            while (_inbox.Reader.TryRead(out var unclaimed))
            {
                unclaimed.Dispose();
            }

            await ReleaseOutRingAsync().ConfigureAwait(false);
            _ending.Dispose();
        }
    }

    public override string ToString() => $"tensor connection to {Peer} ({(Outbound ? "outbound" : "inbound")})";

    /// <param name="finished">Runs once the connection is done, before <see cref="Completion"/> completes (the transport forgets it there).</param>
    internal void Start(Action<TensorConnection> finished)
    {
        _finished = finished;
        TensorLog.Connected(_logger, Peer, Outbound ? "outbound" : "inbound");
        _reading = Task.Run(ReadLoopAsync);
        if (_options.SharedMemory is { } shared && BitConverter.IsLittleEndian)
        {
            _ = OfferRingAsync(shared);
        }
        else
        {
            _ringAnswered.TrySetResult(false);
        }
    }

    /// <param name="status">NormalClosure for a goodbye; EndpointUnavailable when the transport stops.</param>
    internal async Task CloseAsync(WebSocketCloseStatus status, string reason, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        if (End is null)
        {
            using var timeout = new CancellationTokenSource(_options.CloseTimeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
            var locked = false;
            try
            {
                // Lets a tensor being sent finish first, so the goodbye follows it rather than cutting it.
                await _sendLock.WaitAsync(linked.Token).ConfigureAwait(false);
                locked = true;
                if (TrySetEnd(new ConnectionEnd(ConnectionEndReason.ClosedHere, Peer.ToString(), reason)))
                {
                    await _socket.TryCloseOutputAsync(status, reason, linked.Token).ConfigureAwait(false);
                    ArmAbort();
                }
            }
            catch (OperationCanceledException)
            {
                var why = cancellationToken.IsCancellationRequested ? "the close was cancelled" : $"a send still running after {_options.CloseTimeout} was cut off";
                TrySetEnd(new ConnectionEnd(ConnectionEndReason.ClosedHere, Peer.ToString(), $"{reason} ({why})"));
                _socket.Abort();
                cancellationToken.ThrowIfCancellationRequested();
            }
            finally
            {
                if (locked)
                {
                    _sendLock.Release();
                }
            }
        }

        // The peer's close reply ends the reader; the abort timer cuts off a peer that sends none.
        await _reading.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private void Stalled(TensorKind kind, long bytes, Outgoing progress)
    {
        if (!progress.Finish())
        {
            return;
        }

        var detail = $"sending {kind} ({bytes} bytes) did not finish within {_options.TransferTimeout}: the peer took {progress.Written} of {progress.Chunks} chunks";
        if (TrySetEnd(new ConnectionEnd(ConnectionEndReason.Stalled, Peer.ToString(), detail)))
        {
            TensorLog.Stalled(_logger, Peer, detail);
        }
    }

    private void Cancelled(TensorKind kind, Outgoing progress)
    {
        if (progress.Finish())
        {
            TrySetEnd(new ConnectionEnd(ConnectionEndReason.ClosedHere, Peer.ToString(), $"a send of {kind} was cancelled after {progress.Written} of {progress.Chunks} chunks"));
        }
    }

    private void ThrowIfEnded()
    {
        if (End is { } end)
        {
            throw new TensorConnectionException(end);
        }
    }

    /// <summary>Records the end (the first one wins); stops deliveries and aborts sends in flight. True if this call set it.</summary>
    private bool TrySetEnd(ConnectionEnd end)
    {
        lock (_gate)
        {
            if (_end is not null)
            {
                return false;
            }

            _end = end;
        }

        _inbox.Writer.TryComplete();
        _ending.Cancel();
        return true;
    }

    /// <summary>Never throws: whatever the peer or the network does ends in <see cref="Completion"/>.</summary>
    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
            {
                Frame? frame;
                try
                {
                    // No token: cancelling a WebSocket receive aborts the socket; closing or the abort timer ends this call.
                    frame = await _socket.ReceiveAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (ProtocolViolationException e)
                {
                    await RefuseAsync(e.Message, e.Status).ConfigureAwait(false);
                    continue;
                }

                if (frame is null)
                {
                    await PeerClosedAsync().ConfigureAwait(false);
                    return;
                }

                if (_ending.IsCancellationRequested)
                {
                    continue; // ending: what still arrives is dropped until the peer's close reply or the abort
                }

                try
                {
                    await AcceptAsync(frame).ConfigureAwait(false);
                }
                catch (FrameLimitExceededException e)
                {
                    await RefuseAsync(e.Message, WebSocketCloseStatus.MessageTooBig).ConfigureAwait(false);
                }
                catch (Exception e) when (e is ChunkProtocolException or ChunkIntegrityException or ProtocolViolationException or FormatException)
                {
                    await RefuseAsync(e.Message, e is ProtocolViolationException violation ? violation.Status : WebSocketCloseStatus.PolicyViolation).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e)
        {
            // A reset, an end of stream without a close message, or our own abort (then the end is already set).
            TrySetEnd(new ConnectionEnd(ConnectionEndReason.ClosedWithoutGoodbye, Peer.ToString(), $"connection lost: {e.Message}"));
        }
        finally
        {
            Finish();
        }
    }

    private async Task AcceptAsync(Frame frame)
    {
        if (frame.BodyCase == Frame.BodyOneofCase.RingOffer)
        {
            AcceptRingOffer(frame.RingOffer);
            return;
        }

        if (frame.BodyCase == Frame.BodyOneofCase.RingReply)
        {
            AcceptRingReply(frame.RingReply);
            return;
        }

        if (frame.BodyCase != Frame.BodyOneofCase.Chunk)
        {
            throw new ProtocolViolationException($"sent a {frame.BodyCase} frame; a tensor connection carries chunked tensors only");
        }

        if (!_assembler.Accept(frame.Chunk, _unpack, out var message))
        {
            if (_transferTimer is null && _assembler.PendingTransfers > 0)
            {
                // The first chunk of a tensor: the rest must follow within the transfer timeout.
                var serial = Interlocked.Increment(ref _transferSerial);
                _transferTimer = _time.CreateTimer(_ => _ = TransferStalledAsync(serial), null, _options.TransferTimeout, Timeout.InfiniteTimeSpan);
            }

            return;
        }

        if (_assembler.PendingTransfers == 0)
        {
            Interlocked.Increment(ref _transferSerial);
            _transferTimer?.Dispose();
            _transferTimer = null;
        }

        try
        {
            // Waits while the application has not taken earlier tensors: reading stops, the peer is pushed back.
            await _inbox.Writer.WriteAsync(message, _ending.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            message.Dispose();
        }
    }

    /// <summary>
    /// Copies a reassembled tensor's floats from the received chunks into a pooled buffer: the one copy
    /// between the wire and the receiver, and no payload-sized array is allocated on the way.
    /// </summary>
    private TensorMessage Unpack(ReadOnlySequence<byte> payload)
    {
        var (header, offset, length, shared) = TensorWire.Parse(payload);
        if (shared is not null)
        {
            return UnpackShared(header, shared);
        }

        var count = length / sizeof(float);
        var buffer = count == 0 ? [] : ArrayPool<float>.Shared.Rent(count);
        var data = payload.Slice(offset, length);
        if (BitConverter.IsLittleEndian)
        {
            data.CopyTo(MemoryMarshal.AsBytes(buffer.AsSpan(0, count)));
        }
        else
        {
            LittleEndianFloats.Read(data.ToArray(), buffer);
        }

        return new TensorMessage(Peer, header, buffer, count);
    }

    /// <summary>A tensor whose floats lie in the peer's ring: copied out into a pooled buffer, which frees the ring's space.</summary>
    private TensorMessage UnpackShared(TensorHeader header, SharedSlice shared)
    {
        if (_inRing is not { } ring)
        {
            throw new FormatException("a tensor in shared memory, but this side holds no ring of the peer's");
        }

        if (shared.Length > _options.Limits.MaxInFlightBytesPerPeer || shared.Start > long.MaxValue)
        {
            throw new FormatException($"a tensor of {shared.Length} bytes at {shared.Start} in shared memory, over the {_options.Limits.MaxInFlightBytesPerPeer} bytes a transfer may hold or past any ring");
        }

        var count = (int)(shared.Length / sizeof(float));
        var buffer = count == 0 ? [] : ArrayPool<float>.Shared.Rent(count);
        try
        {
            ring.ReadAndRelease((long)shared.Start, MemoryMarshal.AsBytes(buffer.AsSpan(0, count)));
        }
        catch
        {
            if (count > 0)
            {
                ArrayPool<float>.Shared.Return(buffer);
            }

            throw;
        }

        return new TensorMessage(Peer, header, buffer, count);
    }

    /// <summary>Under the send lock: copies a large enough payload into the accepted ring, if it has room.</summary>
    private bool TrySendShared(ReadOnlyMemory<float> payload, out SharedSlice shared)
    {
        shared = null!;
        var bytes = MemoryMarshal.AsBytes(payload.Span);
        if (!_outRingAccepted || _outRing is not { } ring || bytes.Length < _options.SharedMemory!.MinPayloadBytes || bytes.Length == 0)
        {
            return false;
        }

        if (!ring.TryReserve(out var reason))
        {
            _outRingAccepted = false; // once: everything goes over the socket from here on
            TensorLog.RingUnavailable(_logger, Peer, _options.SharedMemory.Directory, reason!);
            return false;
        }

        if (!ring.TryWrite(bytes, out var start))
        {
            return false; // the peer has not consumed enough yet: inline, never a wait
        }

        shared = new SharedSlice { Start = (ulong)start, Length = (uint)bytes.Length };
        Interlocked.Add(ref _sharedBytesSent, bytes.Length);
        return true;
    }

    /// <summary>Makes this side's ring and offers it; a directory that cannot hold one leaves this connection on the socket.</summary>
    private async Task OfferRingAsync(SharedMemoryOptions options)
    {
        SharedRing ring;
        try
        {
            ring = SharedRing.Create(options.Directory, options.RingBytes);
        }
        catch (Exception e)
        {
            // Whatever the directory does (missing, read-only, full, not Linux), this connection stays on the socket.
            TensorLog.RingUnavailable(_logger, Peer, options.Directory, e.Message);
            _ringAnswered.TrySetResult(false);
            return;
        }

        _outRing = ring;
        var offer = new Frame { RingOffer = new RingOffer { Path = ring.Path, Cookie = Google.Protobuf.ByteString.CopyFrom(ring.Cookie), Capacity = (ulong)ring.Capacity } };
        await SendControlAsync(offer).ConfigureAwait(false);
    }

    /// <summary>The reader: the peer offers its ring; open it if this node uses shared memory and can, and answer either way.</summary>
    private void AcceptRingOffer(RingOffer offer)
    {
        if (_inRing is not null)
        {
            throw new ProtocolViolationException("offered a second ring of shared memory");
        }

        string? declined = null;
        if (_options.SharedMemory is null || !BitConverter.IsLittleEndian)
        {
            declined = "this side does not use shared memory";
        }
        else if (!IsProcDescriptor(offer.Path))
        {
            throw new ProtocolViolationException($"offered a ring at '{offer.Path}', which is not a /proc/PID/fd/N path");
        }
        else
        {
            try
            {
                _inRing = SharedRing.Open(offer.Path, offer.Cookie.Span, checked((long)offer.Capacity));
            }
            catch (Exception e)
            {
                // Another host, namespace or user, another cookie, a file that is no ring: the socket, not an end.
                declined = $"its ring could not be opened here ({e.Message})";
            }
        }

        var reply = new Frame { RingReply = new RingReply { Accepted = declined is null, Reason = declined ?? "" } };
        _ = SendControlAsync(reply); // never from the reader itself: a send may wait on the peer
    }

    /// <summary>The reader: the peer's answer to this side's offer.</summary>
    private void AcceptRingReply(RingReply reply)
    {
        // Only the reader completes the answer while the connection is open, so a completed one means a second reply.
        if (_outRing is null || _ringAnswered.Task.IsCompleted)
        {
            throw new ProtocolViolationException("sent a ring reply to no offer of this side, or a second one");
        }

        if (reply.Accepted)
        {
            _outRingAccepted = true;
            TensorLog.RingAccepted(_logger, Peer, _outRing.Capacity);
        }
        else
        {
            TensorLog.RingDeclined(_logger, Peer, string.IsNullOrEmpty(reply.Reason) ? "the peer declined shared memory" : reply.Reason);
        }

        _ringAnswered.TrySetResult(reply.Accepted);
    }

    private static bool IsProcDescriptor(string path)
    {
        var parts = path.Split('/');
        return parts.Length == 5 && parts[0].Length == 0 && parts[1] == "proc" && parts[3] == "fd"
            && parts[2].Length is > 0 and < 12 && parts[2].All(char.IsAsciiDigit) && parts[4].Length is > 0 and < 12 && parts[4].All(char.IsAsciiDigit);
    }

    /// <summary>One small frame of this connection's own (a ring offer or reply) after any tensor being sent; a failure ends the connection as a send's would.</summary>
    private async Task SendControlAsync(Frame frame)
    {
        try
        {
            await _sendLock.WaitAsync(_ending.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            return; // ended (or disposed) meanwhile: nothing to offer or answer any more
        }

        try
        {
            await _socket.SendAsync(frame, _ending.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException or ObjectDisposedException)
        {
            if (TrySetEnd(new ConnectionEnd(ConnectionEndReason.ClosedWithoutGoodbye, Peer.ToString(), $"connection lost while sending: {e.Message}")))
            {
                _socket.Abort();
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Unmaps this side's ring once no send can be writing into it (sends hold the lock; the end has aborted any that remain).</summary>
    private async Task ReleaseOutRingAsync()
    {
        if (_outRing is not { } ring)
        {
            return;
        }

        // A send still running after the close timeout keeps the ring mapped (the GC unmaps it later).
        if (!await _sendLock.WaitAsync(_options.CloseTimeout).ConfigureAwait(false))
        {
            return;
        }

        _outRingAccepted = false;
        ring.Dispose();
        _sendLock.Release();
    }

    private async Task PeerClosedAsync()
    {
        var status = _socket.CloseStatus;
        var text = _socket.CloseStatusDescription ?? "";
        var reason = TensorCloseStatus.Classify(status);
        var detail = reason switch
        {
            ConnectionEndReason.Goodbye => text.Length == 0 ? "the peer closed the connection" : text,
            ConnectionEndReason.Stalled => $"the peer gave up waiting for a tensor of this node: {text}",
            _ => $"close code {(int?)status}: {text}",
        };

        if (TrySetEnd(new ConnectionEnd(reason, Peer.ToString(), detail)))
        {
            // The peer ended it: reply, so it sees a clean close. (Otherwise this was the reply to ours.)
            await SendCloseAsync(WebSocketCloseStatus.NormalClosure, "goodbye").ConfigureAwait(false);
        }
    }

    /// <summary>The peer broke a rule: log it, tell it why, and drop the connection once it replies (or after the close timeout).</summary>
    private async Task RefuseAsync(string reason, WebSocketCloseStatus status)
    {
        if (!TrySetEnd(new ConnectionEnd(ConnectionEndReason.FrameRefused, Peer.ToString(), reason)))
        {
            return;
        }

        TensorLog.FrameRefused(_logger, Peer, reason);
        await SendCloseAsync(status, $"frame refused: {reason}").ConfigureAwait(false);
        ArmAbort();
    }

    private async Task TransferStalledAsync(long serial)
    {
        if (Interlocked.Read(ref _transferSerial) != serial)
        {
            return; // the tensor completed just as the timer fired
        }

        var detail = $"the rest of a tensor did not arrive within {_options.TransferTimeout} ({_assembler.BufferedBytes} bytes of it had)";
        if (!TrySetEnd(new ConnectionEnd(ConnectionEndReason.Stalled, Peer.ToString(), detail)))
        {
            return;
        }

        TensorLog.Stalled(_logger, Peer, detail);
        await SendCloseAsync(TensorCloseStatus.Stalled, "stalled: the rest of a tensor did not arrive in time").ConfigureAwait(false);
        ArmAbort();
    }

    /// <summary>Sends a close message after any send in flight (which the end has aborted); bounded by the close timeout, never throws.</summary>
    private async Task SendCloseAsync(WebSocketCloseStatus status, string reason)
    {
        using var timeout = new CancellationTokenSource(_options.CloseTimeout, _time);
        var locked = false;
        try
        {
            await _sendLock.WaitAsync(timeout.Token).ConfigureAwait(false);
            locked = true;
            await _socket.TryCloseOutputAsync(status, reason, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            _socket.Abort();
        }
        finally
        {
            if (locked)
            {
                _sendLock.Release();
            }
        }
    }

    /// <summary>After this side sent its close message: a peer that does not reply within the close timeout is cut off, which ends the reader.</summary>
    private void ArmAbort()
    {
        var timer = _time.CreateTimer(_ => _socket.Abort(), null, _options.CloseTimeout, Timeout.InfiniteTimeSpan);
        if (Interlocked.CompareExchange(ref _abortTimer, timer, null) is not null)
        {
            timer.Dispose();
        }
    }

    /// <summary>The reader is done: release the socket and the transfer state, log, and report the end.</summary>
    private void Finish()
    {
        _inRing?.Dispose(); // the reader was its only user
        _ringAnswered.TrySetResult(false);
        _transferTimer?.Dispose();
        Interlocked.Exchange(ref _abortTimer, null)?.Dispose();
        _socket.Abort();
        _socket.Dispose();
        var end = End!;
        var deliberate = end.Reason is ConnectionEndReason.ClosedHere or ConnectionEndReason.Goodbye;
        TensorLog.Ended(_logger, deliberate ? LogLevel.Information : LogLevel.Warning, Peer, end.Reason, end.Detail);
        _finished?.Invoke(this);
        _completion.TrySetResult(end);
    }

    /// <summary>How far one send got, and which of finishing, stalling or being cancelled happened first.</summary>
    private sealed class Outgoing(int chunks)
    {
        private int _written;
        private int _finished;

        public int Chunks { get; } = chunks;

        public int Written => Volatile.Read(ref _written);

        public void Wrote() => Interlocked.Increment(ref _written);

        /// <summary>True for the first caller only.</summary>
        public bool Finish() => Interlocked.Exchange(ref _finished, 1) == 0;
    }
}
