using System.Net.WebSockets;
using System.Threading.Channels;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using RnnCluster.DataPlane.Protocol;

namespace RnnCluster.DataPlane.Transport;

/// <summary>
/// One authenticated connection: a reader that decodes frames (reassembling chunked payloads), a
/// writer that drains the <see cref="SendQueue"/>, and a heartbeat timer. Anything a peer does wrong
/// closes this connection only. Closing is always the writer's job (it sends the close message after
/// its last frame), because cancelling a pending WebSocket call would abort the socket instead.
/// </summary>
internal sealed class PeerConnection : IDisposable
{
    private readonly FrameSocket _socket;
    private readonly NodeIdentity _local;
    private readonly RemoteTransportOptions _options;
    private readonly IMessageCodec _codec;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ChannelWriter<InboundMessage> _inbound;
    private readonly ChannelWriter<HeartbeatReceived> _heartbeats;
    private readonly ChunkAssembler _assembler;
    private readonly ChunkWriter _chunkWriter;
    private readonly SendQueue _queue;
    private readonly CancellationTokenSource _closing = new();
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly FaultInjector? _faults;
    private readonly Channel<DelayedMessage>? _delayLine;
    private readonly HashSet<Type> _heldTypesLogged = [];
    private Task<List<DelayedMessage>> _delayLoop = Task.FromResult(new List<DelayedMessage>());
    private string? _closeReason;
    private WebSocketCloseStatus _closeStatus = WebSocketCloseStatus.NormalClosure;
    private ulong _heartbeatSequence;
    private WebSocketCloseStatus? _peerCloseStatus;
    private string? _peerFarewell;

    public PeerConnection(
        FrameSocket socket,
        NodeIdentity local,
        NodeIdentity peer,
        bool outbound,
        RemoteTransportOptions options,
        IMessageCodec codec,
        TimeProvider timeProvider,
        ILogger logger,
        ChannelWriter<InboundMessage> inbound,
        ChannelWriter<HeartbeatReceived> heartbeats,
        FaultInjector? faults = null)
    {
        _socket = socket;
        _local = local;
        Peer = peer;
        Outbound = outbound;
        _options = options;
        _codec = codec;
        _time = timeProvider;
        _logger = logger;
        _inbound = inbound;
        _heartbeats = heartbeats;
        _assembler = new ChunkAssembler(peer.ToString(), options.Limits, timeProvider);
        _chunkWriter = new ChunkWriter(options.Limits);
        _queue = new SendQueue(options.SendQueueCapacity);
        _faults = faults;
        if (faults is not null && faults.Delay > TimeSpan.Zero)
        {
            // Bounded like the send queue, so a sender still waits when the delayed link is saturated.
            _delayLine = Channel.CreateBounded<DelayedMessage>(
                new BoundedChannelOptions(options.SendQueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        }
    }

    public NodeIdentity Peer { get; }

    /// <summary>True when this node dialled the connection.</summary>
    public bool Outbound { get; }

    public bool IsClosing => _closing.IsCancellationRequested;

    /// <summary>Completes once the connection has closed and left the connection table (what a dialer waits for).</summary>
    public Task RunCompletion => _completed.Task;

    /// <summary>
    /// True when either side ended the connection on purpose (a peer gate refusal or
    /// <see cref="RemoteTransport.Disconnect"/>), which a dialer answers with back-off rather than an
    /// immediate redial.
    /// </summary>
    public bool EndedDeliberately
    {
        get
        {
            lock (_gate)
            {
                return (_closeReason is not null && TransportCloseStatus.IsDeliberate(_closeStatus)) || TransportCloseStatus.IsDeliberate(_peerCloseStatus);
            }
        }
    }

    /// <summary>The peer's farewell (see <see cref="RemoteTransport.Farewell"/>) if it closed the connection with one.</summary>
    public string? PeerFarewell
    {
        get
        {
            lock (_gate)
            {
                return _peerFarewell;
            }
        }
    }

    /// <summary>Why the connection closed (or is closing); null while it is open.</summary>
    public string? CloseReason
    {
        get
        {
            lock (_gate)
            {
                return _closeReason;
            }
        }
    }

    /// <summary>
    /// Queues one message. False when the connection is closing (delivery is at-most-once; the caller
    /// may resend on the next connection).
    /// </summary>
    public async ValueTask<bool> SendAsync(object message, string sender, string recipient, MessagePriority priority, CancellationToken cancellationToken)
    {
        var frame = new Frame { Message = _codec.Encode(message, sender, recipient) };
        var size = frame.CalculateSize();
        try
        {
            if (priority == MessagePriority.Control)
            {
                if (size > _options.Limits.MaxFrameBytes)
                {
                    throw new ArgumentException(
                        $"A control message must fit in one frame ({_options.Limits.MaxFrameBytes} bytes); this one takes {size}.", nameof(message));
                }

                await _queue.EnqueueControlAsync(frame, cancellationToken).ConfigureAwait(false);
                return true;
            }

            if (_faults is not null && _faults.ShouldDrop())
            {
                return !IsClosing;
            }

            // A payload larger than one frame travels as the serialized Frame, cut into chunks.
            IReadOnlyList<Frame> frames = size <= _options.Limits.MaxFrameBytes ? [frame] : _chunkWriter.SplitMessage(frame.Message);
            if (_delayLine is not null)
            {
                LogFirstHeld(message);
                await _delayLine.Writer.WriteAsync(new DelayedMessage(_time.GetTimestamp(), frames), cancellationToken).ConfigureAwait(false);
                return true;
            }

            await _queue.EnqueueOrdinaryAsync(frames, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ChannelClosedException)
        {
            return false;
        }
    }

    /// <summary>Starts closing (idempotent; the first reason wins). The writer sends the close message after its current frame.</summary>
    public void RequestClose(string reason, WebSocketCloseStatus status = WebSocketCloseStatus.NormalClosure)
    {
        lock (_gate)
        {
            if (_closeReason is not null)
            {
                return;
            }

            _closeReason = reason;
            _closeStatus = status;
        }

        _queue.Complete();
        _delayLine?.Writer.TryComplete();
        _closing.Cancel();
    }

    /// <summary>Runs the connection until it closes; returns the reason. Never throws for anything the peer or network does.</summary>
    public async Task<string> RunAsync(CancellationToken stopping)
    {
        using var stopRegistration = stopping.Register(() => RequestClose("this node is stopping", WebSocketCloseStatus.EndpointUnavailable));
        // The delay line starts first: the writer, when closing, sends what is still on it.
        _delayLoop = DelayLoopAsync();
        var reader = ReadLoopAsync(stopping);
        var writer = WriteLoopAsync();
        var heartbeat = HeartbeatLoopAsync();
        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, _time, _closing.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Closing was requested: by the reader, the writer, the transport or a duplicate check.
        }

        await heartbeat.ConfigureAwait(false);

        // The writer sends our close message; then the peer's close reply ends the reader. A peer that
        // does not answer within the close timeout is aborted, which ends the reader too.
        using var deadline = new CancellationTokenSource(_options.CloseTimeout, _time);
        try
        {
            await Task.WhenAll(reader, writer).WaitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _socket.Abort();
            await Task.WhenAll(reader, writer).ConfigureAwait(false);
        }

        return CloseReason ?? "closed";
    }

    public void MarkCompleted() => _completed.TrySetResult();

    public void Dispose()
    {
        _socket.Dispose();
        _queue.Dispose();
        _closing.Dispose();
    }

    /// <param name="stopping">Only the node stopping ends delivery: a closing connection still delivers what arrives before the peer's close message.</param>
    private async Task ReadLoopAsync(CancellationToken stopping)
    {
        await Task.Yield();
        try
        {
            while (true)
            {
                // No token: cancelling a WebSocket receive aborts the socket, and the close handshake
                // (or an abort after the close timeout) ends this call anyway.
                var frame = await _socket.ReceiveAsync(CancellationToken.None).ConfigureAwait(false);
                if (frame is null)
                {
                    RequestClose(DescribePeerClose());
                    return;
                }

                if (!await DispatchAsync(frame, stopping).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
        catch (ProtocolViolationException e)
        {
            Violation(e.Message, e.Status);
        }
        catch (Exception e) when (e is FrameLimitExceededException)
        {
            Violation(e.Message, WebSocketCloseStatus.MessageTooBig);
        }
        catch (Exception e) when (e is ChunkProtocolException or ChunkIntegrityException or UnknownMessageTypeException or MessageDecodeException)
        {
            Violation(e.Message, WebSocketCloseStatus.PolicyViolation);
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            RequestClose(IsClosing ? "closed" : $"connection lost: {e.Message}");
        }
    }

    /// <summary>Handles one frame; false when the connection is closing and reading should stop.</summary>
    private async ValueTask<bool> DispatchAsync(Frame frame, CancellationToken stopping)
    {
        switch (frame.BodyCase)
        {
            case Frame.BodyOneofCase.Message:
                return await DeliverAsync(frame.Message, stopping).ConfigureAwait(false);
            case Frame.BodyOneofCase.Chunk:
                if (!_assembler.Accept(frame.Chunk, out var payload))
                {
                    return true;
                }

                return await DeliverAsync(ParseChunkedMessage(payload), stopping).ConfigureAwait(false);
            case Frame.BodyOneofCase.Heartbeat:
                // Dropping the oldest when nobody reads keeps memory bounded; a detector wants the latest.
                _heartbeats.TryWrite(new HeartbeatReceived(Peer, frame.Heartbeat.Sequence, _time.GetTimestamp(), _assembler.BufferedBytes));
                return true;
            default:
                throw new ProtocolViolationException($"sent a {frame.BodyCase} frame after the handshake");
        }
    }

    private static Message ParseChunkedMessage(byte[] payload)
    {
        try
        {
            return ChunkAssembler.ParseMessage(payload);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or FormatException)
        {
            throw new ProtocolViolationException($"sent a chunked payload that is not a Frame with a Message ({e.Message})", WebSocketCloseStatus.ProtocolError);
        }
    }

    private async ValueTask<bool> DeliverAsync(Message message, CancellationToken stopping)
    {
        var decoded = _codec.Decode(message);
        try
        {
            // Waiting here when the application is slow stops reading, which pushes back onto the peer.
            await _inbound.WriteAsync(new InboundMessage(Peer, message.Sender, message.Recipient, decoded), stopping).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            RequestClose("this node is stopping", WebSocketCloseStatus.EndpointUnavailable);
            return false;
        }
    }

    /// <summary>The reason a close from the peer is logged with; a deliberate close carries the peer's own reason.</summary>
    private string DescribePeerClose()
    {
        var status = _socket.CloseStatus;
        lock (_gate)
        {
            _peerCloseStatus = status;
        }

        var reason = _socket.CloseStatusDescription;
        if (status == TransportCloseStatus.Farewell)
        {
            lock (_gate)
            {
                _peerFarewell = reason ?? "";
            }
        }

        return status switch
        {
            TransportCloseStatus.Farewell => $"the peer is going away: {reason}",
            TransportCloseStatus.Refused => $"refused by the peer: {reason}",
            TransportCloseStatus.Disconnected => $"disconnected by the peer: {reason}",
            _ => "the peer closed the connection",
        };
    }

    private void Violation(string reason, WebSocketCloseStatus status)
    {
        TransportLog.ProtocolViolation(_logger, Peer, reason);
        RequestClose($"protocol violation: {reason}", status);
    }

    private async Task WriteLoopAsync()
    {
        await Task.Yield();
        try
        {
            while (true)
            {
                Frame frame;
                try
                {
                    frame = await _queue.DequeueAsync(_closing.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                // No token: a cancelled send aborts the socket mid-frame; the close timeout bounds it instead.
                await _socket.SendAsync(frame, CancellationToken.None).ConfigureAwait(false);
            }

            // What was accepted before the queue completed still goes out ahead of the close message
            // (the peer reads until it sees that), so a replaced duplicate connection loses nothing.
            while (_queue.TryDequeue(out var queued))
            {
                await _socket.SendAsync(queued, CancellationToken.None).ConfigureAwait(false);
            }

            await SendDelayedTailAsync().ConfigureAwait(false);

            WebSocketCloseStatus status;
            string reason;
            lock (_gate)
            {
                status = _closeStatus;
                reason = _closeReason ?? "closed";
            }

            await _socket.TryCloseOutputAsync(status, reason, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            RequestClose($"send failed: {e.Message}");
        }
    }

    /// <summary>
    /// Moves delayed ordinary messages (see <see cref="TransportFaults"/>) into the send queue once their
    /// delay is over, in order. When the connection starts closing it returns, in order, the messages
    /// still on the line (the one it was waiting on first), for the writer to send before its close message.
    /// </summary>
    private async Task<List<DelayedMessage>> DelayLoopAsync()
    {
        List<DelayedMessage> rest = [];
        if (_delayLine is null)
        {
            return rest;
        }

        await Task.Yield();
        var delay = _faults!.Delay;
        DelayedMessage? current = null;
        try
        {
            await foreach (var message in _delayLine.Reader.ReadAllAsync(_closing.Token).ConfigureAwait(false))
            {
                current = message;
                var remaining = delay - _time.GetElapsedTime(message.QueuedTimestamp);
                if (remaining > TimeSpan.Zero)
                {
                    await Task.Delay(remaining, _time, _closing.Token).ConfigureAwait(false);
                }

                await _queue.EnqueueOrdinaryAsync(message.Frames, _closing.Token).ConfigureAwait(false);
                current = null;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            // Closing: the rest is collected below.
        }

        if (current is { } waiting)
        {
            rest.Add(waiting);
        }

        while (_delayLine.Reader.TryRead(out var queued))
        {
            rest.Add(queued);
        }

        return rest;
    }

    /// <summary>
    /// Sends, after the send queue and before the close message, what was still on the delay line when
    /// closing began, at once: messages a test held back are in flight, and in-flight bytes still reach
    /// the peer after their sender closes. An aborted connection loses them, as a cut link would.
    /// </summary>
    private async Task SendDelayedTailAsync()
    {
        foreach (var message in await _delayLoop.ConfigureAwait(false))
        {
            foreach (var frame in message.Frames)
            {
                await _socket.SendAsync(frame, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private void LogFirstHeld(object message)
    {
        bool first;
        lock (_gate)
        {
            first = _heldTypesLogged.Add(message.GetType());
        }

        if (first)
        {
            TransportLog.FaultHolding(_logger, message.GetType().Name, Peer, _faults!.Delay.TotalMilliseconds);
        }
    }

    private async Task HeartbeatLoopAsync()
    {
        using var timer = new PeriodicTimer(_options.HeartbeatInterval, _time);
        try
        {
            // The first heartbeat goes at once, so the peer's failure detector starts without waiting an interval.
            do
            {
                var heartbeat = new Heartbeat { Sequence = ++_heartbeatSequence, SenderIncarnation = _local.Incarnation };
                _queue.TryEnqueueControl(new Frame { Heartbeat = heartbeat });

                // The same tick frees transfers the peer abandoned, in case the connection went quiet.
                var dropped = _assembler.RemoveAbandoned();
                if (dropped > 0)
                {
                    TransportLog.AbandonedTransfers(_logger, Peer, dropped);
                }
            }
            while (await timer.WaitForNextTickAsync(_closing.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            // Closing.
        }
    }

    private readonly record struct DelayedMessage(long QueuedTimestamp, IReadOnlyList<Frame> Frames);
}
