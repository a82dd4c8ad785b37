using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace RnnCluster.DataPlane.Transport;

/// <summary>
/// A node's remoting endpoint: a Kestrel WebSocket listener on one path plus dialers that keep a
/// connection to each peer named by <see cref="Connect"/>, redialling with jittered exponential back-off.
/// Every connection runs the <see cref="HmacHandshake"/> before any other frame, carries
/// <see cref="RnnCluster.DataPlane.Protocol.Frame"/>s, heartbeats, and is closed alone when its peer breaks
/// a rule. Received messages, heartbeats and peer events arrive on channels; delivery is at-most-once.
/// Optionally every connection runs over TLS (<see cref="RemoteTransportOptions.Tls"/>), a peer gate
/// may refuse authenticated peers (<see cref="SetPeerGate"/>), and tests may inject delay and loss
/// (<see cref="RemoteTransportOptions.Faults"/>). Messages are encoded and decoded by the
/// <see cref="IMessageCodec"/> the layer above provides. It carries the actor messages of our own
/// membership and goes with it; tensors have their own connections (<see cref="Tensors.TensorTransport"/>).
/// </summary>
public sealed class RemoteTransport : IAsyncDisposable
{
    private const int HeartbeatBuffer = 1024;
    private const int PeerEventBuffer = 1024;

    private readonly RemoteTransportOptions _options;
    private readonly ClusterSecret _secret;
    private readonly IMessageCodec _codec;
    private readonly TimeProvider _time;
    private readonly Random _jitter;
    private readonly RandomNumberGenerator _nonces;
    private readonly ulong _incarnation;
    private readonly ILogger _logger;
    private readonly Channel<InboundMessage> _messages;
    private readonly Channel<HeartbeatReceived> _heartbeats;
    private readonly Channel<PeerEvent> _peerEvents;
    private readonly CancellationTokenSource _stopping = new();
    private string? _farewell;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Task> _dialers = new(StringComparer.Ordinal);
    private readonly FaultInjector? _faults;
    private Func<NodeIdentity, string?>? _peerGate;
    private TlsMaterial? _tls;
    private WebSocketHost? _host;
    private ConnectionTable? _table;
    private NodeIdentity? _local;
    private int _openConnections;
    private int _state; // 0 new, 1 started, 2 stopped

    /// <param name="incarnation">Different on every start of the node, so peers can tell a restarted node from its previous life.</param>
    /// <param name="jitter">Random source of the reconnect jitter (seeded in tests); used under a lock.</param>
    /// <param name="nonces">Source of the handshake nonces: <see cref="RandomNumberGenerator.Create()"/> outside tests; must be thread-safe.</param>
    public RemoteTransport(
        RemoteTransportOptions options,
        ClusterSecret secret,
        IMessageCodec codec,
        ulong incarnation,
        ILoggerFactory loggerFactory,
        TimeProvider timeProvider,
        Random jitter,
        RandomNumberGenerator nonces)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(secret);
        ArgumentNullException.ThrowIfNull(codec);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(jitter);
        ArgumentNullException.ThrowIfNull(nonces);
        _options = options.Validate();
        _secret = secret;
        _codec = codec;
        _incarnation = incarnation;
        _logger = loggerFactory.CreateLogger<RemoteTransport>();
        _time = timeProvider;
        _jitter = jitter;
        _nonces = nonces;
        _messages = Channel.CreateBounded<InboundMessage>(new BoundedChannelOptions(options.InboundCapacity) { FullMode = BoundedChannelFullMode.Wait });
        _heartbeats = Channel.CreateBounded<HeartbeatReceived>(new BoundedChannelOptions(HeartbeatBuffer) { FullMode = BoundedChannelFullMode.DropOldest });
        _peerEvents = Channel.CreateBounded<PeerEvent>(new BoundedChannelOptions(PeerEventBuffer) { FullMode = BoundedChannelFullMode.DropOldest });
        _peerGate = options.PeerGate;
        _faults = options.Faults is null ? null : new FaultInjector(options.Faults);
    }

    /// <summary>This node as peers see it (<c>rnn://system@host:port</c> with the bound port); set by <see cref="StartAsync"/>.</summary>
    public NodeIdentity LocalIdentity => _local ?? throw new InvalidOperationException("The transport has not started.");

    /// <summary>Messages from every peer, in arrival order per connection. Read it: a full channel stops the connections reading.</summary>
    public ChannelReader<InboundMessage> Messages => _messages.Reader;

    /// <summary>Heartbeats from every peer (the oldest are dropped when nobody reads), for a failure detector.</summary>
    public ChannelReader<HeartbeatReceived> Heartbeats => _heartbeats.Reader;

    /// <summary>Authenticated connections opened and closed (the oldest are dropped when nobody reads).</summary>
    public ChannelReader<PeerEvent> PeerEvents => _peerEvents.Reader;

    public IReadOnlyList<NodeIdentity> ConnectedPeers => _table is null ? [] : [.. _table.Snapshot().Select(c => c.Peer)];

    /// <summary>
    /// Replaces the peer gate (<see cref="RemoteTransportOptions.PeerGate"/>); null lets every
    /// authenticated peer in. Applies to connections authenticated from now on; use
    /// <see cref="Disconnect"/> for one already open. A refused peer's connection is closed with the
    /// reason, which both sides log, and the refused side's dialer backs off before it tries again.
    /// </summary>
    public void SetPeerGate(Func<NodeIdentity, string?>? gate) => Volatile.Write(ref _peerGate, gate);

    /// <summary>
    /// Closes the current connection to <paramref name="peerAddress"/>, if there is one, telling the
    /// peer <paramref name="reason"/> (both sides log it; the peer gets its first 120 characters).
    /// Queued messages still go out first. Not a ban:
    /// whichever side dials redials after back-off, so pair it with the peer gate to keep a node out.
    /// </summary>
    /// <returns>False when no open connection to that address existed.</returns>
    public bool Disconnect(string peerAddress, string reason)
    {
        ArgumentNullException.ThrowIfNull(peerAddress);
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        if (_table is null || !_table.TryGet(peerAddress, out var connection) || connection.IsClosing)
        {
            return false;
        }

        TransportLog.Disconnecting(_logger, connection.Peer, reason);
        connection.RequestClose(reason, TransportCloseStatus.Disconnected);
        return true;
    }

    /// <summary>
    /// Set before stopping when this node goes away for good (a coordinator whose run finished): the
    /// connections open at <see cref="StopAsync"/> close with it as their reason and a close code of
    /// their own, and the peers see it as <see cref="PeerEvent.Farewell"/>. It follows every message
    /// queued before, so it reaches a peer even when an earlier message could not (it was not yet a
    /// member, say). Null (the default): the peers only see "this node is stopping".
    /// </summary>
    public string? Farewell
    {
        get => Volatile.Read(ref _farewell);
        set => Volatile.Write(ref _farewell, value);
    }

    /// <summary>Formats a node address the way <see cref="LocalIdentity"/> does.</summary>
    public static string FormatAddress(string systemName, string host, int port) => $"rnn://{systemName}@{host}:{port}";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException("A transport starts once.");
        }

        // Loaded before anything listens: a node configured for TLS starts with it or not at all.
        _tls = _options.Tls is null ? null : TlsMaterial.Load(_options.Tls, _time);
        _host = await WebSocketHost.StartAsync(_options.Host, _options.Port, _tls, _options.HandshakeTimeout, AcceptAsync, _logger, cancellationToken)
            .ConfigureAwait(false);
        _local = new NodeIdentity(FormatAddress(_options.SystemName, _options.Host, _host.Port), _incarnation);
        _table = new ConnectionTable(_local.Address);
        TransportLog.Listening(_logger, _local, _host.BoundAddress);
        if (_tls is not null)
        {
            var trust = _options.Tls!.CaPath is { } ca ? $"the CA in '{ca}' only" : "the system trust store";
            TransportLog.TlsEnabled(_logger, _tls.Certificate.Subject, _tls.Certificate.NotAfter.ToUniversalTime(), trust);
        }

        if (_faults is not null)
        {
            TransportLog.FaultsEnabled(_logger, _options.Faults!);
        }
    }

    /// <summary>
    /// Keeps a connection to <paramref name="peerAddress"/> (<c>rnn://system@host:port</c>) until the
    /// transport stops: dials now, and redials with back-off whenever the connection drops. A second
    /// call for the same address does nothing.
    /// </summary>
    public void Connect(string peerAddress)
    {
        ArgumentNullException.ThrowIfNull(peerAddress);
        var uri = ToWebSocketUri(peerAddress, _options.Path, secure: _options.Tls is not null);
        if (Volatile.Read(ref _state) != 1)
        {
            throw new InvalidOperationException("Connect needs a started transport.");
        }

        lock (_gate)
        {
            if (!_dialers.ContainsKey(peerAddress))
            {
                _dialers.Add(peerAddress, DialLoopAsync(peerAddress, uri, _stopping.Token));
            }
        }
    }

    /// <summary>
    /// Queues <paramref name="message"/> (a registered type) for <paramref name="peerAddress"/>. False when
    /// no connection to that peer is open now: delivery is at-most-once, and the caller decides about
    /// retrying. Waits while the connection's ordinary lane is full.
    /// </summary>
    /// <exception cref="ArgumentException">The message's type is not registered, or a control message exceeds one frame.</exception>
    public ValueTask<bool> SendAsync(
        string peerAddress,
        object message,
        string sender,
        string recipient,
        MessagePriority priority = MessagePriority.Ordinary,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(peerAddress);
        return _table is not null && _table.TryGet(peerAddress, out var connection) && !connection.IsClosing
            ? connection.SendAsync(message, sender, recipient, priority, cancellationToken)
            : ValueTask.FromResult(false);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _state, 2) != 1)
        {
            return;
        }

        if (Farewell is { } farewell && _table is not null)
        {
            // First reason wins: these connections close with the farewell, not "this node is stopping".
            foreach (var connection in _table.Snapshot())
            {
                connection.RequestClose(farewell, TransportCloseStatus.Farewell);
            }
        }

        // Every connection and dialer watches this token: connections send their close message, dialers stop.
        await _stopping.CancelAsync().ConfigureAwait(false);
        Task[] dialers;
        lock (_gate)
        {
            dialers = [.. _dialers.Values];
        }

        await Task.WhenAll(dialers).WaitAsync(cancellationToken).ConfigureAwait(false);

        // Kestrel waits for the accept handlers, which end as their connections close. There is no
        // host when StartAsync failed (a bad TLS file, a taken port).
        if (_host is not null)
        {
            await _host.StopAsync(cancellationToken).ConfigureAwait(false);
        }

        _messages.Writer.TryComplete();
        _heartbeats.Writer.TryComplete();
        _peerEvents.Writer.TryComplete();
        if (_local is not null)
        {
            TransportLog.Stopped(_logger, _local);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            if (_host is not null)
            {
                await _host.DisposeAsync().ConfigureAwait(false);
            }

            _tls?.Dispose();
            _stopping.Dispose();
        }
    }

    internal static Uri ToWebSocketUri(string peerAddress, string path) => ToWebSocketUri(peerAddress, path, secure: false);

    internal static Uri ToWebSocketUri(string peerAddress, string path, bool secure)
    {
        if (!Uri.TryCreate(peerAddress, UriKind.Absolute, out var address)
            || !string.Equals(address.Scheme, "rnn", StringComparison.Ordinal)
            || address.UserInfo.Length == 0
            || address.Port <= 0)
        {
            throw new ArgumentException($"'{peerAddress}' is not a node address of the form rnn://system@host:port.", nameof(peerAddress));
        }

        return new UriBuilder(secure ? "wss" : "ws", address.Host, address.Port, path).Uri;
    }

    private async Task AcceptAsync(HttpContext context)
    {
        var remote = $"{context.Connection.RemoteIpAddress}:{context.Connection.RemotePort}";
        if (!context.WebSockets.IsWebSocketRequest || !string.Equals(context.Request.Path.Value, _options.Path, StringComparison.Ordinal))
        {
            TransportLog.NotTransportRequest(_logger, context.Request.Path.Value ?? "", remote);
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        if (!TryOpenSlot(out var open))
        {
            TransportLog.ConnectionLimitReached(_logger, remote, open, _options.Limits.MaxConnections);
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return;
        }

        try
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
            _ = await RunConnectionAsync(socket, outbound: false, remote, expectedAddress: null).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _openConnections);
        }
    }

    /// <summary>Counts a new connection against <see cref="FrameLimits.MaxConnections"/>; false (and nothing counted) when full.</summary>
    private bool TryOpenSlot(out int open)
    {
        open = Interlocked.Increment(ref _openConnections);
        if (open <= _options.Limits.MaxConnections)
        {
            return true;
        }

        Interlocked.Decrement(ref _openConnections);
        open--;
        return false;
    }

    private async Task DialLoopAsync(string address, Uri uri, CancellationToken stopping)
    {
        await Task.Yield();
        var backoff = new ReconnectBackoff(_options.ReconnectMinDelay, _options.ReconnectMaxDelay, _options.ReconnectJitter, _jitter);
        while (!stopping.IsCancellationRequested)
        {
            string failure;
            try
            {
                if (_table!.TryGet(address, out var existing))
                {
                    // The peer dialled us (or an earlier dial of ours still runs): one connection per pair.
                    await existing.RunCompletion.WaitAsync(stopping).ConfigureAwait(false);
                    backoff.Reset();
                    failure = "the connection closed";
                }
                else
                {
                    var connected = await DialOnceAsync(address, uri, stopping).ConfigureAwait(false);
                    if (connected is null)
                    {
                        backoff.Reset();
                        continue;
                    }

                    failure = connected;
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }

            TimeSpan delay;
            int attempt;
            lock (_gate)
            {
                attempt = backoff.Attempt + 1;
                delay = backoff.NextDelay();
            }

            TransportLog.DialFailed(_logger, address, attempt, delay, failure);
            try
            {
                await Task.Delay(delay, _time, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// One dial. Returns null when the connection was authenticated and has since closed (or lost the
    /// duplicate check), so the loop starts over without counting a failure; otherwise why it failed.
    /// </summary>
    private async Task<string?> DialOnceAsync(string address, Uri uri, CancellationToken stopping)
    {
        if (!TryOpenSlot(out _))
        {
            return $"{_options.Limits.MaxConnections} connections are open";
        }

        try
        {
            using var socket = WebSocketHost.CreateClient(_tls, address, _logger);

            using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(stopping))
            {
                connectTimeout.CancelAfter(_options.HandshakeTimeout);
                try
                {
                    await socket.ConnectAsync(uri, connectTimeout.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is WebSocketException or IOException || (e is OperationCanceledException && !stopping.IsCancellationRequested))
                {
                    return ExceptionText.Describe(e);
                }
            }

            return await RunConnectionAsync(socket, outbound: true, uri.Authority, address).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _openConnections);
        }
    }

    /// <summary>
    /// Authenticates, admits, registers and runs one connection. Null when it ran and closed in the
    /// ordinary way (a dialer redials at once); otherwise why it failed or was ended on purpose (a
    /// dialer backs off first).
    /// </summary>
    private async Task<string?> RunConnectionAsync(WebSocket socket, bool outbound, string remote, string? expectedAddress)
    {
        var frames = new FrameSocket(socket, _options.Limits.MaxFrameBytes);
        var peer = await AuthenticateAsync(frames, outbound, remote, expectedAddress).ConfigureAwait(false);
        if (peer is null)
        {
            frames.Dispose();
            return "handshake failed";
        }

        var refusal = AskPeerGate(peer);
        if (refusal is not null)
        {
            TransportLog.PeerRefused(_logger, peer, outbound ? "outbound" : "inbound", refusal);
            await CloseAndAwaitPeerAsync(frames, TransportCloseStatus.Refused, refusal).ConfigureAwait(false);
            frames.Dispose();
            return $"refused by the peer gate: {refusal}";
        }

        using var connection = new PeerConnection(
            frames, LocalIdentity, peer, outbound, _options, _codec, _time, _logger, _messages.Writer, _heartbeats.Writer, _faults);
        if (!_table!.TryAdd(connection, out var displaced))
        {
            TransportLog.DuplicateClosed(_logger, peer, _table.Dialler(_table.TryGet(peer.Address, out var kept) ? kept : connection));
            connection.RequestClose("duplicate connection");
            await connection.RunAsync(_stopping.Token).ConfigureAwait(false);
            connection.MarkCompleted();
            return null;
        }

        if (displaced is not null)
        {
            if (displaced.Peer.Incarnation != peer.Incarnation)
            {
                TransportLog.IncarnationReplaced(_logger, peer, displaced.Peer);
            }
            else
            {
                TransportLog.DuplicateClosed(_logger, peer, _table.Dialler(connection));
            }

            displaced.RequestClose("replaced by another connection to the same peer");
        }

        var direction = outbound ? "outbound" : "inbound";
        TransportLog.PeerConnected(_logger, peer, direction);
        _peerEvents.Writer.TryWrite(new PeerEvent(PeerEventKind.Connected, peer, outbound, null));
        var reason = "closed";
        try
        {
            reason = await connection.RunAsync(_stopping.Token).ConfigureAwait(false);
        }
        finally
        {
            if (_table.Remove(connection))
            {
                TransportLog.PeerDisconnected(_logger, peer, reason);
                _peerEvents.Writer.TryWrite(new PeerEvent(PeerEventKind.Disconnected, peer, outbound, reason, connection.PeerFarewell));
            }

            connection.MarkCompleted();
        }

        return connection.EndedDeliberately ? $"closed on purpose: {reason}" : null;
    }

    /// <summary>The gate's refusal reason for <paramref name="peer"/>, or null to admit it; a gate that throws refuses.</summary>
    private string? AskPeerGate(NodeIdentity peer)
    {
        var gate = Volatile.Read(ref _peerGate);
        if (gate is null)
        {
            return null;
        }

        try
        {
            return gate(peer);
        }
        catch (Exception e)
        {
            // Whatever the cluster layer's gate throws, the peer stays out and the transport runs on.
            TransportLog.PeerGateFailed(_logger, peer, e);
            return $"the peer gate failed ({e.GetType().Name})";
        }
    }

    private async Task<NodeIdentity?> AuthenticateAsync(FrameSocket frames, bool outbound, string remote, string? expectedAddress)
    {
        var direction = outbound ? "outbound" : "inbound";
        var handshake = new HmacHandshake(_secret, LocalIdentity, outbound ? HandshakeRole.Initiator : HandshakeRole.Responder, _nonces);
        using var timeout = new CancellationTokenSource(_options.HandshakeTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _stopping.Token);
        string reason;
        try
        {
            var peer = await WireHandshake.RunAsync(frames, handshake, linked.Token).ConfigureAwait(false);
            if (expectedAddress is null || string.Equals(peer.Address, expectedAddress, StringComparison.Ordinal))
            {
                return peer;
            }

            TransportLog.WrongPeer(_logger, expectedAddress, peer);
            await CloseRefusedAsync(frames, WebSocketCloseStatus.PolicyViolation, "wrong node").ConfigureAwait(false);
            return null;
        }
        catch (HandshakeFailedException e)
        {
            reason = e.Message;
        }
        catch (ProtocolViolationException e)
        {
            reason = e.Message;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            reason = $"no handshake within {_options.HandshakeTimeout}";
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            reason = "this node is stopping";
        }
        catch (Exception e) when (e is WebSocketException or IOException)
        {
            reason = $"connection lost: {e.Message}";
        }

        TransportLog.HandshakeFailed(_logger, remote, direction, reason);
        await CloseRefusedAsync(frames, WebSocketCloseStatus.PolicyViolation, "handshake failed").ConfigureAwait(false);
        return null;
    }

    /// <summary>
    /// Tells an authenticated peer why it is turned away and waits (bounded by the close timeout) for
    /// its close reply, so the reason reaches it rather than being cut off by a reset; frames it sent
    /// meanwhile are discarded.
    /// </summary>
    private async Task CloseAndAwaitPeerAsync(FrameSocket frames, WebSocketCloseStatus status, string reason)
    {
        using var timeout = new CancellationTokenSource(_options.CloseTimeout, _time);
        await frames.CloseAndDrainAsync(status, reason, timeout.Token).ConfigureAwait(false);
    }

    /// <summary>Tells a refused peer why (best effort, bounded), then drops the connection without waiting for its reply.</summary>
    private async Task CloseRefusedAsync(FrameSocket frames, WebSocketCloseStatus status, string reason)
    {
        using var timeout = new CancellationTokenSource(_options.CloseTimeout, _time);
        await frames.TryCloseOutputAsync(status, reason, timeout.Token).ConfigureAwait(false);
        frames.Abort();
    }
}
