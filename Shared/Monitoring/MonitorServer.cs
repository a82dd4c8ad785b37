using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace RnnCluster.Monitoring;

/// <summary>
/// The run's HTTP server on Kestrel (<c>monitor.host</c>:<c>monitor.port</c>), for people and scrapers:
/// <list type="bullet">
/// <item><c>GET /</c>, <c>GET /assets/{path}</c>: the dashboard (embedded resources, <see cref="DashboardAssets"/>).</item>
/// <item><c>GET /api/state</c>: the run now, as JSON; <c>GET /api/events</c>: that state, then every change, as server-sent events.</item>
/// <item><c>GET /metrics</c>: <see cref="RunMeter"/>'s instruments in Prometheus text format.</item>
/// <item><c>GET /alive</c>: 200 while the process serves; <c>GET /ready</c>: 200 while training, 503 before and after;
/// <c>GET /status</c>: a short JSON summary (step, generation, members, last checkpoint, last error, state).</item>
/// </list>
/// docs/monitoring.md is the contract of these routes. Nothing here changes the run: every route reads.
/// </summary>
public sealed class MonitorServer : IAsyncDisposable
{
    /// <summary>How often an idle event stream gets a comment line, so proxies and browsers keep it open.</summary>
    public static readonly TimeSpan DefaultHeartbeat = TimeSpan.FromSeconds(15);

    private readonly WebApplication _app;
    private readonly RunMeter _meter;

    private MonitorServer(WebApplication app, RunMeter meter, string host, int port)
    {
        _app = app;
        _meter = meter;
        Port = port;
        Address = new Uri($"http://{(host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host)}:{port}/");
    }

    /// <summary>The bound port (the system's choice when 0 was asked for).</summary>
    public int Port { get; }

    /// <summary>The dashboard's address, <c>http://HOST:PORT/</c>.</summary>
    public Uri Address { get; }

    /// <summary>
    /// Serves <paramref name="monitor"/>, or returns null after one warning when the port is taken: a dashboard
    /// is not worth failing a run for. Other failures (a host that is no address here) throw.
    /// </summary>
    public static async Task<MonitorServer?> TryStartAsync(RunMonitor monitor, MonitorServerOptions options, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var logger = loggerFactory.CreateLogger<MonitorServer>();
        try
        {
            var server = await StartAsync(monitor, options, loggerFactory, cancellationToken).ConfigureAwait(false);
            MonitorLog.Serving(logger, server.Address.ToString());
            return server;
        }
        catch (IOException e) when (e.InnerException is AddressInUseException)
        {
            MonitorLog.PortInUse(logger, options.Host, options.Port, e.InnerException.Message);
            return null;
        }
    }

    public static async Task<MonitorServer> StartAsync(RunMonitor monitor, MonitorServerOptions options, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var meter = new RunMeter(monitor, options.MeterName);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            if (IPAddress.TryParse(options.Host, out var ip))
            {
                kestrel.Listen(ip, options.Port);
            }
            else if (string.Equals(options.Host, "localhost", StringComparison.OrdinalIgnoreCase))
            {
                kestrel.Listen(IPAddress.Loopback, options.Port);
            }
            else
            {
                kestrel.ListenAnyIP(options.Port);
            }
        });
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(meter.Name).AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        var app = builder.Build();
        try
        {
            // Event streams never end by themselves: they end with the server's stopping token, or stopping would wait for them.
            var routes = new MonitorRoutes(monitor, options.Assets ?? DashboardAssets.Embedded, options.Heartbeat, loggerFactory.CreateLogger<MonitorServer>(), app.Lifetime.ApplicationStopping);
            app.UseOpenTelemetryPrometheusScrapingEndpoint("/metrics");
            app.Run(routes.AnswerAsync);
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                ?? throw new InvalidOperationException("Kestrel started without reporting its address.");
            return new MonitorServer(app, meter, options.Host, new Uri(bound).Port);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            meter.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _meter.Dispose();
    }
}

/// <summary>Where and how a <see cref="MonitorServer"/> serves.</summary>
public sealed record MonitorServerOptions(string Host, int Port)
{
    /// <summary>The dashboard's files; null = those embedded in RnnCluster.Shared.</summary>
    public DashboardAssets? Assets { get; init; }

    public TimeSpan Heartbeat { get; init; } = MonitorServer.DefaultHeartbeat;

    /// <summary>The meter's name (<see cref="RunMeter.MeterName"/>; tests give each server its own).</summary>
    public string MeterName { get; init; } = RunMeter.MeterName;
}

/// <summary>The answers of <see cref="MonitorServer"/>'s routes other than <c>/metrics</c>.</summary>
internal sealed class MonitorRoutes(RunMonitor monitor, DashboardAssets assets, TimeSpan heartbeat, ILogger logger, CancellationToken stopping)
{
    private const string Text = "text/plain; charset=utf-8";
    private const string Json = "application/json; charset=utf-8";
    private static readonly byte[] HeartbeatBytes = Encoding.UTF8.GetBytes(": heartbeat\n\n");

    public async Task AnswerAsync(HttpContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }

        var path = request.Path.Value ?? "/";
        switch (path)
        {
            case "/":
            case "/index.html":
                await AssetAsync(context, "index.html").ConfigureAwait(false);
                return;
            case "/api/state":
                await WriteAsync(context, StatusCodes.Status200OK, Json, MonitorJson.State(monitor.Snapshot())).ConfigureAwait(false);
                return;
            case "/api/events":
                await EventsAsync(context).ConfigureAwait(false);
                return;
            case "/alive":
                await WriteAsync(context, StatusCodes.Status200OK, Text, "alive\n"u8.ToArray()).ConfigureAwait(false);
                return;
            case "/ready":
                var snapshotState = monitor.IsTraining ? null : monitor.Snapshot().State;
                await (snapshotState is null
                    ? WriteAsync(context, StatusCodes.Status200OK, Text, "ready\n"u8.ToArray())
                    : WriteAsync(context, StatusCodes.Status503ServiceUnavailable, Text, Encoding.UTF8.GetBytes($"not ready: {snapshotState}\n"))).ConfigureAwait(false);
                return;
            case "/status":
                await WriteAsync(context, StatusCodes.Status200OK, Json, MonitorJson.Status(monitor.Snapshot())).ConfigureAwait(false);
                return;
        }

        if (path.StartsWith("/assets/", StringComparison.Ordinal))
        {
            await AssetAsync(context, path["/assets/".Length..]).ConfigureAwait(false);
            return;
        }

        await WriteAsync(context, StatusCodes.Status404NotFound, Text, "unknown path; try /, /api/state, /api/events, /metrics, /status, /alive or /ready\n"u8.ToArray()).ConfigureAwait(false);
    }

    private async Task AssetAsync(HttpContext context, string path)
    {
        if (assets.Find(path) is not { } asset)
        {
            var body = path == "index.html" ? "dashboard assets not built\n" : $"no dashboard asset {path}\n";
            await WriteAsync(context, StatusCodes.Status404NotFound, Text, Encoding.UTF8.GetBytes(body)).ConfigureAwait(false);
            return;
        }

        var response = context.Response;
        response.Headers.ETag = asset.ETag;
        // Revalidate every time: the tag makes that a 304 without the body, and a new build shows at once.
        response.Headers.CacheControl = "no-cache";
        if (context.Request.Headers.IfNoneMatch.Any(v => v is not null && v.Split(',').Any(t => t.Trim() == asset.ETag || t.Trim() == "*")))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        await WriteAsync(context, StatusCodes.Status200OK, asset.ContentType, asset.Content).ConfigureAwait(false);
    }

    private static async Task WriteAsync(HttpContext context, int status, string type, byte[] body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = type;
        context.Response.ContentLength = body.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The event stream: <c>state</c> first, then each update as it happens, a comment line after
    /// <see cref="heartbeat"/> of quiet. Ends when the client goes (its subscription is freed), the server
    /// stops, or the follower fell too far behind (the browser reconnects and starts from a new state).
    /// </summary>
    private async Task EventsAsync(HttpContext context)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        if (HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }

        using var ended = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        var cancellationToken = ended.Token;
        var (snapshot, subscription) = monitor.Subscribe();
        using (subscription)
        {
            try
            {
                await response.Body.WriteAsync("retry: 2000\n\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
                await WriteEventAsync(response, "state", MonitorJson.State(snapshot), cancellationToken).ConfigureAwait(false);
                await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
                var reader = subscription.Updates;
                Task<bool>? pending = null;
                while (true)
                {
                    pending ??= reader.WaitToReadAsync(cancellationToken).AsTask();
                    if (!pending.IsCompleted)
                    {
                        using var quiet = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                        var beat = Task.Delay(heartbeat, monitor.Time, quiet.Token);
                        if (await Task.WhenAny(pending, beat).ConfigureAwait(false) != pending)
                        {
                            await response.Body.WriteAsync(HeartbeatBytes, cancellationToken).ConfigureAwait(false);
                            await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
                            continue;
                        }

                        await quiet.CancelAsync().ConfigureAwait(false);
                    }

                    if (!await pending.ConfigureAwait(false))
                    {
                        if (subscription.Dropped)
                        {
                            MonitorLog.FollowerDropped(logger, RunMonitor.SubscriberCapacity);
                        }

                        return;
                    }

                    pending = null;
                    // Everything queued goes out in one flush: a fast run does not flush per step.
                    while (reader.TryRead(out var update))
                    {
                        await WriteEventAsync(response, update.EventName, MonitorJson.Update(update), cancellationToken).ConfigureAwait(false);
                    }

                    await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The client went away or the server stops: the subscription is freed below.
            }
        }
    }

    private static async Task WriteEventAsync(HttpResponse response, string name, byte[] json, CancellationToken cancellationToken)
    {
        await response.Body.WriteAsync(Encoding.UTF8.GetBytes($"event: {name}\ndata: "), cancellationToken).ConfigureAwait(false);
        await response.Body.WriteAsync(json, cancellationToken).ConfigureAwait(false);
        await response.Body.WriteAsync("\n\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
    }
}
