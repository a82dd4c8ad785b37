using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace RnnCluster.DataPlane.Transport;

/// <summary>
/// The listening and dialling halves every data-plane connection starts with: a TCP listener (optionally
/// serving TLS from a <see cref="TlsMaterial"/>) that reads each connection's HTTP upgrade request and
/// hands it to one handler, and a dialler that makes the same upgrade. Both ends are
/// <see cref="WebSocket.CreateFromStream(Stream, WebSocketCreationOptions)"/> over the connection's own
/// stream: a WebSocket's frames go straight to the socket (or TLS) and come straight from it. Kestrel and
/// <c>ClientWebSocket</c>, used here before, each put a buffered pipe between the WebSocket and the socket,
/// one more copy of every byte and one more thread hop per send (docs/all-reduce-performance.md, stop 28).
/// Kept apart from <see cref="Tensors.TensorTransport"/> so the transport reads as protocol, not sockets.
/// </summary>
internal sealed class WebSocketHost : IAsyncDisposable
{
    /// <summary>How long the listener pauses after a failed accept.</summary>
    private static readonly TimeSpan AcceptRetryDelay = TimeSpan.FromMilliseconds(100);

    private readonly Socket _listener;
    private readonly TlsMaterial? _tls;
    private readonly TimeSpan _handshakeTimeout;
    private readonly Func<InboundUpgrade, Task> _handler;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Task, byte> _serving = new();
    private readonly ConcurrentDictionary<Stream, byte> _streams = new();
    private Task _accepting = Task.CompletedTask;
    private int _stopped;

    private WebSocketHost(Socket listener, TlsMaterial? tls, TimeSpan handshakeTimeout, Func<InboundUpgrade, Task> handler, ILogger logger)
    {
        _listener = listener;
        _tls = tls;
        _handshakeTimeout = handshakeTimeout;
        _handler = handler;
        _logger = logger;
        var bound = (IPEndPoint)listener.LocalEndPoint!;
        Port = bound.Port;
        BoundAddress = $"{(tls is null ? "http" : "https")}://{bound}";
    }

    /// <summary>Where it listens (<c>http://127.0.0.1:40123</c>, <c>https://…</c> with TLS).</summary>
    public string BoundAddress { get; }

    /// <summary>The bound TCP port (the OS's choice when 0 was asked for).</summary>
    public int Port { get; }

    /// <summary>
    /// Listens on <paramref name="host"/>:<paramref name="port"/>: on that address when it is an IP,
    /// on loopback for <c>localhost</c>, on every interface otherwise (a DNS name peers dial).
    /// </summary>
    /// <param name="handshakeTimeout">For TLS and the HTTP request together; a connection that has not sent its request by then is closed.</param>
    /// <param name="handler">Runs each upgrade request; for a WebSocket, for as long as the connection lives. The connection closes when it returns.</param>
    /// <exception cref="SocketException">The address cannot be bound (taken, or not this host's).</exception>
    public static Task<WebSocketHost> StartAsync(
        string host, int port, TlsMaterial? tls, TimeSpan handshakeTimeout, Func<InboundUpgrade, Task> handler, ILogger logger, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var listener = Bind(host, port);
        var server = new WebSocketHost(listener, tls, handshakeTimeout, handler, logger);
        server._accepting = server.AcceptLoopAsync();
        return Task.FromResult(server);
    }

    /// <summary>
    /// Dials <paramref name="host"/>:<paramref name="port"/> and upgrades to a WebSocket at <paramref name="path"/>:
    /// with TLS, offering the node certificate and checking the listener's with <paramref name="tls"/>.
    /// </summary>
    /// <exception cref="SocketException">No TCP connection (refused, unreachable).</exception>
    /// <exception cref="AuthenticationException">TLS failed (a refused certificate, on either side).</exception>
    /// <exception cref="UpgradeRefusedException">The listener answered something other than the upgrade.</exception>
    /// <exception cref="IOException">The connection ended or the answer was not HTTP.</exception>
    public static async Task<WebSocket> DialAsync(string host, int port, string path, TlsMaterial? tls, ILogger logger, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream? stream = null;
        try
        {
            await socket.ConnectAsync(new DnsEndPoint(host, port), cancellationToken).ConfigureAwait(false);
            stream = new NetworkStream(socket, ownsSocket: true);
            if (tls is not null)
            {
                var secure = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = secure;
                var address = $"{host}:{port}";
                await secure.AuthenticateAsClientAsync(
                    new SslClientAuthenticationOptions
                    {
                        TargetHost = host,
                        ClientCertificates = [tls.Certificate],
                        RemoteCertificateValidationCallback = (_, certificate, chain, errors) => Check(tls.CheckServer(certificate, chain, errors), r => TransportLog.OutboundCertificateRefused(logger, address, r)),

                        // Our chain check decides; revocation is out of scope (see TlsMaterial).
                        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                    },
                    cancellationToken).ConfigureAwait(false);
            }

            var key = HttpUpgrade.NewKey();
            await stream.WriteAsync(HttpUpgrade.Request(host, port, path, key), cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            HttpHead answer;
            try
            {
                answer = await HttpUpgrade.ReadHeadAsync(stream, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidDataException e)
            {
                throw new IOException($"the listener's answer is not HTTP: {e.Message}", e);
            }

            var status = answer.StartLine.Split(' ') is [var version, var code, ..] && version.StartsWith("HTTP/1.", StringComparison.Ordinal) && int.TryParse(code, out var s) ? s : 0;
            if (status == 0)
            {
                throw new IOException($"the listener's answer is not HTTP: '{answer.StartLine}'");
            }

            if (status != 101)
            {
                throw new UpgradeRefusedException(status, $"the listener answered '{answer.StartLine}'");
            }

            if (answer["Sec-WebSocket-Accept"] != HttpUpgrade.AcceptFor(key))
            {
                throw new UpgradeRefusedException(101, "the listener's Sec-WebSocket-Accept does not match the key sent");
            }

            return WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });
        }
        catch
        {
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                socket.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// Stops listening, cancels handshakes in progress, and waits for the handlers, which end as their
    /// connections do; when <paramref name="cancellationToken"/> fires first, the connections still open are cut.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        await _accepting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        try
        {
            await Task.WhenAll(_serving.Keys).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            foreach (var stream in _streams.Keys)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }

            await Task.WhenAll(_serving.Keys).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stopping.Dispose();
    }

    private static Socket Bind(string host, int port)
    {
        Socket Listen(IPAddress address)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                if (address.Equals(IPAddress.IPv6Any))
                {
                    socket.DualMode = true;
                }

                socket.Bind(new IPEndPoint(address, port));
                socket.Listen(512);
                return socket;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        if (IPAddress.TryParse(host, out var ip))
        {
            return Listen(ip);
        }

        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return Listen(IPAddress.Loopback);
        }

        // Every interface, IPv4 included; a host without IPv6 listens on IPv4's only.
        return Socket.OSSupportsIPv6 ? Listen(IPAddress.IPv6Any) : Listen(IPAddress.Any);
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket accepted;
            try
            {
                accepted = await _listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException && _stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                // A connection reset before it was accepted leaves the next one unaffected; a listener out of
                // file descriptors fails every accept until some close, so it pauses instead of spinning.
                TransportLog.AcceptFailed(_logger, e.SocketErrorCode.ToString(), e.Message);
                try
                {
                    await Task.Delay(AcceptRetryDelay, _stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            var serving = ServeAsync(accepted);
            _serving.TryAdd(serving, 0);
            _ = serving.ContinueWith(t => _serving.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        await Task.Yield();
        var remote = socket.RemoteEndPoint is IPEndPoint ip ? $"{ip.Address}:{ip.Port}" : "an unknown address";
        socket.NoDelay = true;
        Stream stream = new NetworkStream(socket, ownsSocket: true);
        _streams.TryAdd(stream, 0);
        using var handshake = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        handshake.CancelAfter(_handshakeTimeout);
        try
        {
            InboundUpgrade upgrade;
            try
            {
                if (_tls is not null)
                {
                    var secure = new SslStream(stream, leaveInnerStreamOpen: false);
                    _streams.TryRemove(stream, out _);
                    stream = secure;
                    _streams.TryAdd(stream, 0);
                    await secure.AuthenticateAsServerAsync(ServerOptions(_tls), handshake.Token).ConfigureAwait(false);
                }

                upgrade = new InboundUpgrade(stream, await HttpUpgrade.ReadRequestAsync(stream, handshake.Token).ConfigureAwait(false), remote, handshake.Token);
            }
            catch (InvalidDataException e)
            {
                TransportLog.BadUpgradeRequest(_logger, remote, e.Message);
                await HttpUpgrade.RefuseAsync(stream, 400, "Bad Request", handshake.Token).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is IOException or AuthenticationException or OperationCanceledException or ObjectDisposedException)
            {
                // TLS refused (the certificate check logged why), a stall, or a peer that went away.
                TransportLog.UpgradeAbandoned(_logger, remote, e.Message);
                return;
            }

            await _handler(upgrade).ConfigureAwait(false);
        }
        finally
        {
            _streams.TryRemove(stream, out _);
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private SslServerAuthenticationOptions ServerOptions(TlsMaterial tls)
    {
        var requireClientCertificate = tls.Authorities is not null;
        return new SslServerAuthenticationOptions
        {
            ServerCertificate = tls.Certificate,
            ClientCertificateRequired = requireClientCertificate,
            RemoteCertificateValidationCallback = requireClientCertificate
                ? (_, certificate, chain, _) => Check(tls.CheckClient(certificate, chain), r => TransportLog.InboundCertificateRefused(_logger, r))
                : null,

            // Our chain check decides; revocation is out of scope (see TlsMaterial).
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
    }

    /// <summary>A certificate callback's answer: true when <paramref name="refusal"/> is null, else logs it.</summary>
    /// <remarks>
    /// A listener refusing a dialer under TLS 1.3 fails TLS on the listener; the dialer, whose handshake has
    /// already finished, learns of it when it reads the answer to its upgrade request.
    /// </remarks>
    private static bool Check(string? refusal, Action<string> log)
    {
        if (refusal is not null)
        {
            log(refusal);
        }

        return refusal is null;
    }
}
