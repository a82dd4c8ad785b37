using System.Net;
using System.Net.Security;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace RnnCluster.DataPlane.Transport;

/// <summary>
/// The listening and dialling halves every data-plane connection starts with: Kestrel on one TCP port
/// (optionally serving TLS from a <see cref="TlsMaterial"/>) handing each request to one handler, and
/// <see cref="ClientWebSocket"/>s set up to match. Kept apart from <see cref="Tensors.TensorTransport"/>
/// so the transport reads as protocol, not as Kestrel and certificate plumbing.
/// </summary>
internal sealed class WebSocketHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private WebSocketHost(WebApplication app, string boundAddress)
    {
        _app = app;
        BoundAddress = boundAddress;
        Port = new Uri(boundAddress).Port;
    }

    /// <summary>Where Kestrel listens, as it reports it (<c>http://127.0.0.1:40123</c>, <c>https://…</c> with TLS).</summary>
    public string BoundAddress { get; }

    /// <summary>The bound TCP port (the OS's choice when 0 was asked for).</summary>
    public int Port { get; }

    /// <summary>
    /// Listens on <paramref name="host"/>:<paramref name="port"/>: on that address when it is an IP,
    /// on loopback for <c>localhost</c>, on every interface otherwise (a DNS name peers dial).
    /// </summary>
    /// <param name="handler">Runs each request; for a WebSocket, for as long as the connection lives.</param>
    public static async Task<WebSocketHost> StartAsync(
        string host, int port, TlsMaterial? tls, TimeSpan tlsHandshakeTimeout, RequestDelegate handler, ILogger logger, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            if (IPAddress.TryParse(host, out var ip))
            {
                kestrel.Listen(ip, port, listen => ConfigureTls(listen, tls, tlsHandshakeTimeout, logger));
            }
            else if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
            {
                kestrel.Listen(IPAddress.Loopback, port, listen => ConfigureTls(listen, tls, tlsHandshakeTimeout, logger));
            }
            else
            {
                kestrel.ListenAnyIP(port, listen => ConfigureTls(listen, tls, tlsHandshakeTimeout, logger));
            }
        });

        var app = builder.Build();
        try
        {
            // Each protocol detects dead peers its own way; WebSocket pings would only add traffic.
            app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.Zero });
            app.Run(handler);
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                ?? throw new InvalidOperationException("Kestrel started without reporting its address.");
            return new WebSocketHost(app, bound);
        }
        catch
        {
            // A taken port or a cancelled start: nothing must keep listening.
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// A dialer's socket: no WebSocket pings, and with TLS the node certificate offered to the listener
    /// (which asks for it when it has a CA) and the listener's certificate checked by <paramref name="tls"/>.
    /// </summary>
    /// <param name="address">The peer, named when its certificate is refused.</param>
    public static ClientWebSocket CreateClient(TlsMaterial? tls, string address, ILogger logger)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        if (tls is not null)
        {
            socket.Options.ClientCertificates = [tls.Certificate];
            socket.Options.RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
            {
                var refusal = tls.CheckServer(certificate, chain, errors);
                if (refusal is not null)
                {
                    TransportLog.OutboundCertificateRefused(logger, address, refusal);
                }

                return refusal is null;
            };
        }

        return socket;
    }

    public Task StopAsync(CancellationToken cancellationToken) => _app.StopAsync(cancellationToken);

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private static void ConfigureTls(ListenOptions listen, TlsMaterial? tls, TimeSpan handshakeTimeout, ILogger logger)
    {
        if (tls is null)
        {
            return;
        }

        var requireClientCertificate = tls.Authorities is not null;
        listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = tls.Certificate,
            ClientCertificateMode = requireClientCertificate ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.NoCertificate,
            ClientCertificateValidation = requireClientCertificate ? (certificate, chain, _) => AcceptClient(tls, certificate, chain, logger) : null,

            // Our chain check decides; revocation is out of scope (see TransportTls).
            CheckCertificateRevocation = false,
            HandshakeTimeout = handshakeTimeout,
        });
    }

    /// <remarks>
    /// Refusing here fails TLS itself, before any HTTP. Under TLS 1.3 a .NET dialer learns of it only
    /// after sending its request and retries on fresh connections a few times, so one refused dial
    /// may log this more than once.
    /// </remarks>
    private static bool AcceptClient(TlsMaterial tls, X509Certificate2 certificate, X509Chain? chain, ILogger logger)
    {
        var refusal = tls.CheckClient(certificate, chain);
        if (refusal is not null)
        {
            TransportLog.InboundCertificateRefused(logger, refusal);
        }

        return refusal is null;
    }
}
