using System.Collections.Concurrent;
using HttpStatusCode = System.Net.HttpStatusCode;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using RnnCluster.DataPlane.Transport;

namespace RnnCluster.DataPlane.Tensors;

/// <summary>
/// A node's end of the tensor data plane: it listens on its own TCP port for peers
/// (<see cref="AcceptAsync"/>) and dials theirs (<see cref="ConnectAsync"/>), and every connection is a
/// <see cref="TensorConnection"/> to one authenticated peer. Large payloads (parameters, gradients,
/// states) travel here instead of on the control plane's connection, so they never hold up its
/// heartbeats. It is built from the data plane's wire pieces (WebSocket frames bounded by
/// <see cref="FrameLimits"/>, chunking with the XxHash128 checksum, the HMAC handshake over the
/// <see cref="ClusterSecret"/>, optional TLS) and adds nothing on top: no reconnection, no membership.
/// Who connects to whom, and what a lost connection means, is the caller's decision, made from
/// <see cref="TensorConnection.Completion"/> and the <see cref="ConnectionEndReason"/> of a failed connect.
/// </summary>
public sealed class TensorTransport : IAsyncDisposable
{
    private readonly TensorTransportOptions _options;
    private readonly ClusterSecret _secret;
    private readonly TimeProvider _time;
    private readonly RandomNumberGenerator _nonces;
    private readonly ILogger _logger;
    private readonly Channel<TensorConnection> _accepted = Channel.CreateUnbounded<TensorConnection>();
    private readonly ConcurrentDictionary<TensorConnection, byte> _open = new();
    private readonly CancellationTokenSource _stopping = new();
    private TlsMaterial? _tls;
    private WebSocketHost? _host;
    private DataPlaneEndPoint? _local;
    private int _openConnections;
    private int _state; // 0 new, 1 started, 2 stopped

    /// <param name="nonces">Source of the handshake nonces: <see cref="RandomNumberGenerator.Create()"/> outside tests; must be thread-safe.</param>
    public TensorTransport(
        TensorTransportOptions options, ClusterSecret secret, ILoggerFactory loggerFactory, TimeProvider timeProvider, RandomNumberGenerator nonces)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(secret);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(nonces);
        _options = options.Validate();
        _secret = secret;
        _time = timeProvider;
        _nonces = nonces;
        _logger = loggerFactory.CreateLogger<TensorTransport>();
    }

    /// <summary>This node, as it proves itself to peers.</summary>
    public NodeIdentity Identity => _options.Identity;

    /// <summary>Where peers reach this node: the configured host and the bound port. Set by <see cref="StartAsync"/>.</summary>
    public DataPlaneEndPoint LocalEndPoint => _local ?? throw new InvalidOperationException("The tensor transport has not started.");

    /// <summary>The connections open now, both directions.</summary>
    public IReadOnlyCollection<TensorConnection> Connections => [.. _open.Keys];

    /// <summary>Loads the TLS files (if any) and starts listening. Needed before accepting or connecting.</summary>
    /// <exception cref="TlsConfigurationException">A TLS file is missing, unreadable or invalid.</exception>
    /// <exception cref="TensorListenException">The port is taken, or the address cannot be bound.</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException("A tensor transport starts once.");
        }

        // Loaded before anything listens: a node configured for TLS starts with it or not at all.
        _tls = _options.Tls is null ? null : TlsMaterial.Load(_options.Tls, _time);
        try
        {
            _host = await WebSocketHost.StartAsync(_options.Host, _options.Port, _tls, _options.HandshakeTimeout, AcceptRequestAsync, _logger, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw ListenFailed(e);
        }

        _local = new DataPlaneEndPoint(_options.Host, _host.Port);
        TensorLog.Listening(_logger, Identity, _local, _host.BoundAddress);
        if (_tls is not null)
        {
            var trust = _options.Tls!.CaPath is { } ca ? $"the CA in '{ca}' only" : "the system trust store";
            TensorLog.TlsEnabled(_logger, _tls.Certificate.Subject, _tls.Certificate.NotAfter.ToUniversalTime(), trust);
        }
    }

    /// <summary>The next peer that connected and passed the handshake (and the peer gate).</summary>
    /// <exception cref="InvalidOperationException">The transport is not running (not started, or stopped).</exception>
    public async ValueTask<TensorConnection> AcceptAsync(CancellationToken cancellationToken = default)
    {
        RequireStarted();
        try
        {
            return await _accepted.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException e)
        {
            throw new InvalidOperationException("The tensor transport has stopped.", e);
        }
    }

    /// <summary>
    /// Dials <paramref name="endPoint"/> and runs the handshake. A process that is gone fails at once
    /// with <see cref="ConnectionEndReason.ConnectionRefused"/>; a host that does not answer, after
    /// <see cref="TensorTransportOptions.ConnectTimeout"/>, with <see cref="ConnectionEndReason.Unreachable"/>.
    /// One call is one attempt: retrying, and how soon, is the caller's choice.
    /// </summary>
    /// <param name="expectedPeer">When set, the node reached must be exactly this one (address and incarnation), or the connect is refused.</param>
    /// <exception cref="TensorConnectionException">The attempt failed; <see cref="TensorConnectionException.End"/> says why.</exception>
    /// <exception cref="InvalidOperationException">The transport is not running.</exception>
    public async Task<TensorConnection> ConnectAsync(DataPlaneEndPoint endPoint, NodeIdentity? expectedPeer = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        RequireStarted();
        var peer = expectedPeer?.ToString() ?? endPoint.ToString();
        if (!TryOpenSlot(out var open))
        {
            throw ConnectFailed(endPoint, new ConnectionEnd(ConnectionEndReason.ClosedHere, peer, $"{open} connections are open, the limit is {_options.Limits.MaxConnections}"));
        }

        var opened = false;
        try
        {
            WebSocket socket;
            using (var timeout = new CancellationTokenSource(_options.ConnectTimeout, _time))
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _stopping.Token, cancellationToken))
            {
                try
                {
                    socket = await WebSocketHost.DialAsync(endPoint.Host, endPoint.Port, _options.Path, _tls, _logger, linked.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }
                catch (OperationCanceledException) when (timeout.IsCancellationRequested)
                {
                    throw ConnectFailed(endPoint, new ConnectionEnd(ConnectionEndReason.Unreachable, peer, $"no answer within {_options.ConnectTimeout}"));
                }
                catch (OperationCanceledException)
                {
                    throw ConnectFailed(endPoint, new ConnectionEnd(ConnectionEndReason.ClosedHere, peer, "the tensor transport is stopping"));
                }
                catch (Exception e) when (e is IOException or SocketException or AuthenticationException)
                {
                    throw ConnectFailed(endPoint, ConnectFailure.Classify(e, (HttpStatusCode)((e as UpgradeRefusedException)?.Status ?? 0), peer));
                }
            }

            var frames = new FrameSocket(socket, _options.Limits.MaxFrameBytes);
            NodeIdentity authenticated;
            try
            {
                authenticated = await AuthenticateAsync(frames, outbound: true, peer, expectedPeer, cancellationToken).ConfigureAwait(false);
            }
            catch (TensorConnectionException e)
            {
                throw ConnectFailed(endPoint, e.End);
            }

            var connection = Open(frames, authenticated, outbound: true);
            opened = true;
            return connection;
        }
        finally
        {
            if (!opened)
            {
                Interlocked.Decrement(ref _openConnections);
            }
        }
    }

    /// <summary>
    /// Stops accepting, says goodbye on every open connection (peers see <see cref="ConnectionEndReason.Goodbye"/>),
    /// and stops listening. Connections accepted but never taken by <see cref="AcceptAsync"/> are disposed.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _state, 2) != 1)
        {
            return;
        }

        _accepted.Writer.TryComplete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_open.Keys.Select(c => c.CloseAsync(WebSocketCloseStatus.EndpointUnavailable, "the peer's tensor transport is stopping", cancellationToken)))
            .ConfigureAwait(false);
        while (_accepted.Reader.TryRead(out var unclaimed))
        {
            await unclaimed.DisposeAsync().ConfigureAwait(false);
        }

        // The host waits for the accept handlers, which end as their connections do.
        if (_host is not null)
        {
            await _host.StopAsync(cancellationToken).ConfigureAwait(false);
        }

        TensorLog.Stopped(_logger, Identity);
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

    /// <summary>A bind failure, restated with the port and the setting that chose it.</summary>
    private TensorListenException ListenFailed(SocketException error)
    {
        var endPoint = new DataPlaneEndPoint(_options.Host, _options.Port);
        var setting = _options.PortSetting is { } name ? $" ({name} = {_options.Port})" : "";
        var inUse = false;
        for (var current = (Exception?)error; current is not null; current = current.InnerException)
        {
            inUse |= current is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse };
        }

        var why = inUse
            ? "the port is already in use by another process; free it, or choose another port (0 takes any free one)"
            : ExceptionText.Describe(error);
        return new TensorListenException(endPoint, $"The tensor data plane cannot listen on {endPoint}{setting}: {why}", error);
    }

    private void RequireStarted()
    {
        switch (Volatile.Read(ref _state))
        {
            case 0:
                throw new InvalidOperationException("The tensor transport has not started.");
            case 2:
                throw new InvalidOperationException("The tensor transport has stopped.");
        }
    }

    private TensorConnectionException ConnectFailed(DataPlaneEndPoint endPoint, ConnectionEnd end)
    {
        var level = end.Reason is ConnectionEndReason.ConnectionRefused or ConnectionEndReason.Unreachable or ConnectionEndReason.ClosedHere
            ? LogLevel.Information
            : LogLevel.Warning;
        TensorLog.ConnectFailed(_logger, level, endPoint, end.Reason, end.Detail);
        return new TensorConnectionException(end);
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

    /// <summary>Registers and starts an authenticated connection; its slot frees when it completes.</summary>
    private TensorConnection Open(FrameSocket frames, NodeIdentity peer, bool outbound)
    {
        var connection = new TensorConnection(frames, Identity, peer, outbound, _options, _time, _logger);
        _open.TryAdd(connection, 0);
        connection.Start(closed =>
        {
            _open.TryRemove(closed, out _);
            Interlocked.Decrement(ref _openConnections);
        });
        return connection;
    }

    /// <summary>The listener's handler: one call per inbound connection, for as long as it lives.</summary>
    private async Task AcceptRequestAsync(InboundUpgrade request)
    {
        var remote = request.Remote;
        if (!request.IsWebSocketRequest || !string.Equals(request.Path, _options.Path, StringComparison.Ordinal))
        {
            TensorLog.NotTensorRequest(_logger, request.Path, remote);
            await request.RefuseAsync(404, "Not Found").ConfigureAwait(false);
            return;
        }

        if (Volatile.Read(ref _state) != 1)
        {
            await request.RefuseAsync(503, "Service Unavailable").ConfigureAwait(false);
            return;
        }

        if (!TryOpenSlot(out var open))
        {
            TensorLog.ConnectionLimitReached(_logger, remote, open, _options.Limits.MaxConnections);
            await request.RefuseAsync(503, "Service Unavailable").ConfigureAwait(false);
            return;
        }

        TensorConnection? connection = null;
        try
        {
            var socket = await request.AcceptAsync().ConfigureAwait(false);
            var frames = new FrameSocket(socket, _options.Limits.MaxFrameBytes);
            var peer = await AuthenticateAsync(frames, outbound: false, remote, expected: null, CancellationToken.None).ConfigureAwait(false);
            connection = Open(frames, peer, outbound: false);
            if (!_accepted.Writer.TryWrite(connection))
            {
                await connection.CloseAsync(WebSocketCloseStatus.EndpointUnavailable, "the peer's tensor transport is stopping", CancellationToken.None).ConfigureAwait(false);
            }

            // Returning would let the host close the connection under its reader.
            await connection.Completion.ConfigureAwait(false);
        }
        catch (TensorConnectionException)
        {
            // The handshake failed; logged, and the socket closed, where it failed.
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException)
        {
            TensorLog.HandshakeFailed(_logger, remote, "inbound", $"connection lost before the handshake: {e.Message}");
        }
        catch (Exception e)
        {
            TensorLog.AcceptFailed(_logger, remote, e);
        }
        finally
        {
            if (connection is null)
            {
                Interlocked.Decrement(ref _openConnections);
            }
        }
    }

    /// <summary>
    /// Runs the HMAC handshake with its own timeout; on the listening side the peer gate is asked about
    /// the claimed identity before this side proves anything. On failure the peer is told why (bounded
    /// by the close timeout), the socket is released, and the failure is logged and thrown.
    /// </summary>
    /// <exception cref="TensorConnectionException">Refused, stalled, or lost; the socket is disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; the socket is disposed.</exception>
    private async Task<NodeIdentity> AuthenticateAsync(FrameSocket frames, bool outbound, string remote, NodeIdentity? expected, CancellationToken cancellationToken)
    {
        var direction = outbound ? "outbound" : "inbound";
        var handshake = new HmacHandshake(_secret, Identity, outbound ? HandshakeRole.Initiator : HandshakeRole.Responder, _nonces);
        using var timeout = new CancellationTokenSource(_options.HandshakeTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _stopping.Token, cancellationToken);
        var status = WebSocketCloseStatus.PolicyViolation;
        var closeReason = "handshake failed";
        ConnectionEnd end;
        try
        {
            var peer = await WireHandshake.RunAsync(frames, handshake, linked.Token, outbound ? null : Admit).ConfigureAwait(false);
            if (expected is null || peer == expected)
            {
                return peer;
            }

            end = new ConnectionEnd(ConnectionEndReason.HandshakeRefused, peer.ToString(), $"reached {peer}, expected {expected}");
            closeReason = "wrong node";
        }
        catch (PeerNotAdmittedException e)
        {
            TensorLog.PeerRefused(_logger, e.Peer, e.Reason);
            end = new ConnectionEnd(ConnectionEndReason.HandshakeRefused, e.Peer.ToString(), $"not admitted: {e.Reason}");
            (status, closeReason) = (TensorCloseStatus.NotAdmitted, e.Reason);
        }
        catch (HandshakeFailedException e)
        {
            end = new ConnectionEnd(ConnectionEndReason.HandshakeRefused, remote, RefusalByPeer(frames) ?? e.Message);
        }
        catch (ProtocolViolationException e)
        {
            end = new ConnectionEnd(ConnectionEndReason.HandshakeRefused, remote, $"not a tensor peer: it {e.Message}");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            frames.Abort();
            frames.Dispose();
            throw;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            end = new ConnectionEnd(ConnectionEndReason.Stalled, remote, $"no handshake within {_options.HandshakeTimeout}");
        }
        catch (OperationCanceledException)
        {
            end = new ConnectionEnd(ConnectionEndReason.ClosedHere, remote, "the tensor transport is stopping");
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
        {
            end = new ConnectionEnd(ConnectionEndReason.ClosedWithoutGoodbye, remote, $"connection lost during the handshake: {e.Message}");
        }

        TensorLog.HandshakeFailed(_logger, remote, direction, end.Detail);
        using (var closing = new CancellationTokenSource(_options.CloseTimeout, _time))
        {
            await frames.CloseAndDrainAsync(status, closeReason, closing.Token).ConfigureAwait(false);
        }

        frames.Dispose();
        throw new TensorConnectionException(end);
    }

    /// <summary>The peer gate's refusal of a claimed identity, or null; a gate that throws refuses.</summary>
    private string? Admit(NodeIdentity claimed)
    {
        if (_options.PeerGate is not { } gate)
        {
            return null;
        }

        try
        {
            return gate(claimed);
        }
        catch (Exception e)
        {
            // Whatever the caller's gate throws, the peer stays out and the transport runs on.
            return $"the peer gate failed ({e.GetType().Name}: {e.Message})";
        }
    }

    /// <summary>When the peer ended the handshake with a close message: what it said, for the dialer's error.</summary>
    private static string? RefusalByPeer(FrameSocket frames) => frames.CloseStatus switch
    {
        null => null,
        TensorCloseStatus.NotAdmitted => $"refused by the peer: {frames.CloseStatusDescription}",
        var status => $"the peer closed the handshake ({(int)status}: {frames.CloseStatusDescription})",
    };
}
