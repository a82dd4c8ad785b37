using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace RnnCluster.Remote.Transport;

/// <summary>
/// A node's remoting endpoint: a Kestrel WebSocket listener on one path plus dialers that keep a
/// connection to each peer named by <see cref="Connect"/>, redialling with jittered exponential back-off.
/// Every connection runs the <see cref="HmacHandshake"/> before any other frame, carries
/// <see cref="RnnCluster.Remote.Protocol.Frame"/>s, heartbeats, and is closed alone when its peer breaks
/// a rule. Received messages, heartbeats and peer events arrive on channels; delivery is at-most-once.
/// </summary>
public sealed class RemoteTransport : IAsyncDisposable
{
    private const int HeartbeatBuffer = 1024;
    private const int PeerEventBuffer = 1024;

    private readonly RemoteTransportOptions _options;
    private readonly ClusterSecret _secret;
    private readonly MessageRegistry _registry;
    private readonly TimeProvider _time;
    private readonly Random _jitter;
    private readonly RandomNumberGenerator _nonces;
    private readonly ulong _incarnation;
    private readonly ILogger _logger;
    private readonly Channel<InboundMessage> _messages;
    private readonly Channel<HeartbeatReceived> _heartbeats;
    private readonly Channel<PeerEvent> _peerEvents;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Task> _dialers = new(StringComparer.Ordinal);
    private WebApplication? _app;
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
        MessageRegistry registry,
        ulong incarnation,
        ILoggerFactory loggerFactory,
        TimeProvider timeProvider,
        Random jitter,
        RandomNumberGenerator nonces)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(secret);
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(jitter);
        ArgumentNullException.ThrowIfNull(nonces);
        _options = options.Validate();
        _secret = secret;
        _registry = registry;
        _incarnation = incarnation;
        _logger = loggerFactory.CreateLogger<RemoteTransport>();
        _time = timeProvider;
        _jitter = jitter;
        _nonces = nonces;
        _messages = Channel.CreateBounded<InboundMessage>(new BoundedChannelOptions(options.InboundCapacity) { FullMode = BoundedChannelFullMode.Wait });
        _heartbeats = Channel.CreateBounded<HeartbeatReceived>(new BoundedChannelOptions(HeartbeatBuffer) { FullMode = BoundedChannelFullMode.DropOldest });
        _peerEvents = Channel.CreateBounded<PeerEvent>(new BoundedChannelOptions(PeerEventBuffer) { FullMode = BoundedChannelFullMode.DropOldest });
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

    /// <summary>Formats a node address the way <see cref="LocalIdentity"/> does.</summary>
    public static string FormatAddress(string systemName, string host, int port) => $"rnn://{systemName}@{host}:{port}";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException("A transport starts once.");
        }

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            if (IPAddress.TryParse(_options.Host, out var ip))
            {
                kestrel.Listen(ip, _options.Port);
            }
            else if (string.Equals(_options.Host, "localhost", StringComparison.OrdinalIgnoreCase))
            {
                kestrel.Listen(IPAddress.Loopback, _options.Port);
            }
            else
            {
                kestrel.ListenAnyIP(_options.Port);
            }
        });

        var app = builder.Build();

        // Our own heartbeats detect dead peers; WebSocket pings would only add traffic.
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.Zero });
        app.Run(AcceptAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        _app = app;

        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("Kestrel started without reporting its address.");
        var port = new Uri(bound).Port;
        _local = new NodeIdentity(FormatAddress(_options.SystemName, _options.Host, port), _incarnation);
        _table = new ConnectionTable(_local.Address);
        TransportLog.Listening(_logger, _local, bound);
    }

    /// <summary>
    /// Keeps a connection to <paramref name="peerAddress"/> (<c>rnn://system@host:port</c>) until the
    /// transport stops: dials now, and redials with back-off whenever the connection drops. A second
    /// call for the same address does nothing.
    /// </summary>
    public void Connect(string peerAddress)
    {
        ArgumentNullException.ThrowIfNull(peerAddress);
        var uri = ToWebSocketUri(peerAddress, _options.Path);
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

        // Every connection and dialer watches this token: connections send their close message, dialers stop.
        await _stopping.CancelAsync().ConfigureAwait(false);
        Task[] dialers;
        lock (_gate)
        {
            dialers = [.. _dialers.Values];
        }

        await Task.WhenAll(dialers).WaitAsync(cancellationToken).ConfigureAwait(false);

        // Kestrel waits for the accept handlers, which end as their connections close.
        await _app!.StopAsync(cancellationToken).ConfigureAwait(false);
        _messages.Writer.TryComplete();
        _heartbeats.Writer.TryComplete();
        _peerEvents.Writer.TryComplete();
        TransportLog.Stopped(_logger, _local!);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            if (_app is not null)
            {
                await _app.DisposeAsync().ConfigureAwait(false);
            }

            _stopping.Dispose();
        }
    }

    internal static Uri ToWebSocketUri(string peerAddress, string path)
    {
        if (!Uri.TryCreate(peerAddress, UriKind.Absolute, out var address)
            || !string.Equals(address.Scheme, "rnn", StringComparison.Ordinal)
            || address.UserInfo.Length == 0
            || address.Port <= 0)
        {
            throw new ArgumentException($"'{peerAddress}' is not a node address of the form rnn://system@host:port.", nameof(peerAddress));
        }

        return new UriBuilder("ws", address.Host, address.Port, path).Uri;
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
            await RunConnectionAsync(socket, outbound: false, remote, expectedAddress: null).ConfigureAwait(false);
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
            using var socket = new ClientWebSocket();
            socket.Options.KeepAliveInterval = TimeSpan.Zero;
            using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(stopping))
            {
                connectTimeout.CancelAfter(_options.HandshakeTimeout);
                try
                {
                    await socket.ConnectAsync(uri, connectTimeout.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is WebSocketException or IOException || (e is OperationCanceledException && !stopping.IsCancellationRequested))
                {
                    return e.Message;
                }
            }

            return await RunConnectionAsync(socket, outbound: true, uri.Authority, address).ConfigureAwait(false) ? null : "handshake failed";
        }
        finally
        {
            Interlocked.Decrement(ref _openConnections);
        }
    }

    /// <summary>Authenticates, registers and runs one connection; false when it never got past the handshake.</summary>
    private async Task<bool> RunConnectionAsync(WebSocket socket, bool outbound, string remote, string? expectedAddress)
    {
        var frames = new FrameSocket(socket, _options.Limits.MaxFrameBytes);
        var peer = await AuthenticateAsync(frames, outbound, remote, expectedAddress).ConfigureAwait(false);
        if (peer is null)
        {
            frames.Dispose();
            return false;
        }

        using var connection = new PeerConnection(
            frames, LocalIdentity, peer, outbound, _options, _registry, _time, _logger, _messages.Writer, _heartbeats.Writer);
        if (!_table!.TryAdd(connection, out var displaced))
        {
            TransportLog.DuplicateClosed(_logger, peer, _table.Dialler(_table.TryGet(peer.Address, out var kept) ? kept : connection));
            connection.RequestClose("duplicate connection");
            await connection.RunAsync(_stopping.Token).ConfigureAwait(false);
            connection.MarkCompleted();
            return true;
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
                _peerEvents.Writer.TryWrite(new PeerEvent(PeerEventKind.Disconnected, peer, outbound, reason));
            }

            connection.MarkCompleted();
        }

        return true;
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

    /// <summary>Tells a refused peer why (best effort, bounded), then drops the connection without waiting for its reply.</summary>
    private async Task CloseRefusedAsync(FrameSocket frames, WebSocketCloseStatus status, string reason)
    {
        using var timeout = new CancellationTokenSource(_options.CloseTimeout, _time);
        await frames.TryCloseOutputAsync(status, reason, timeout.Token).ConfigureAwait(false);
        frames.Abort();
    }
}
