using System.Collections.Immutable;
using System.Net;
using Akka.Actor;
using Akka.Cluster;
using Akka.Management.Cluster.Bootstrap.ContactPoint;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Newtonsoft.Json;
using AkkaCluster = Akka.Cluster.Cluster;

namespace RnnCluster.Parallel.Cluster;

/// <summary>
/// A node's HTTP endpoint (<c>cluster.management.port</c>), on Kestrel:
/// <list type="bullet">
/// <item><c>GET /alive</c>: 200 while the actor system runs; 503 once it has terminated (downed, or shutting
/// down) while the process lingers. A process too stuck to answer fails the probe by timing out.</item>
/// <item><c>GET /ready</c>: 200 while this node is an <c>Up</c> member; 503, with the status, while it joins and
/// once it leaves.</item>
/// <item><c>GET /bootstrap/seed-nodes</c> (with a bootstrap discovery method): the members this node knows, in the
/// form Akka.Management's cluster bootstrap asks every contact point for.</item>
/// </list>
/// With the health checks of a <see cref="ClusterNodeHost"/>, a route also answers 503 while a check tagged
/// <see cref="LivenessTag"/> (for <c>/alive</c>) or <see cref="ReadinessTag"/> (for <c>/ready</c>) is unhealthy: the
/// paths and bodies stay these, whoever adds checks.
/// Why ours: Akka.Management 1.5.73 has no health routes, and its HTTP server does not run on the Ceen.Httpd
/// our feed serves (0.9.10 changed a method Akka.Http.Shim 1.5.73 calls: MissingMethodException at bind).
/// The bootstrap's probing client and join logic are Akka.Management's, unchanged; only the answering side is
/// here. The endpoint is unauthenticated, so it tells no more than the bootstrap needs.
/// </summary>
public sealed class ManagementEndpoint : IAsyncDisposable
{
    public const string AlivePath = "/alive";
    public const string ReadyPath = "/ready";
    public const string SeedNodesPath = "/bootstrap/seed-nodes";

    /// <summary>The tag of the registered health checks that <see cref="AlivePath"/> also asks.</summary>
    public const string LivenessTag = "rnncluster.alive";

    /// <summary>The tag of the registered health checks that <see cref="ReadyPath"/> also asks.</summary>
    public const string ReadinessTag = "rnncluster.ready";

    /// <summary>Members handed to a prober: enough to join through, without listing a large cluster.</summary>
    private const int MaxSeedNodes = 5;

    private readonly WebApplication _app;

    private ManagementEndpoint(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    /// <summary>The bound port (the system's choice when 0 was asked for).</summary>
    public int Port { get; }

    /// <summary>
    /// Serves <paramref name="system"/> on <paramref name="host"/>:<paramref name="port"/>: that address when it is
    /// an IP, loopback for <c>localhost</c>, every interface for a DNS name (the kubelet and the discovery reach a
    /// pod at its IP, not at the name it announces).
    /// </summary>
    /// <param name="bootstrap">Also answer the bootstrap's seed-node questions.</param>
    /// <param name="health">The node host's registered checks, asked by tag next to our own; none for a bare system.</param>
    public static async Task<ManagementEndpoint> StartAsync(ActorSystem system, string host, int port, bool bootstrap, CancellationToken cancellationToken, HealthCheckService? health = null)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentException.ThrowIfNullOrEmpty(host);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            if (IPAddress.TryParse(host, out var ip))
            {
                kestrel.Listen(ip, port);
            }
            else if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
            {
                kestrel.Listen(IPAddress.Loopback, port);
            }
            else
            {
                kestrel.ListenAnyIP(port);
            }
        });
        var app = builder.Build();
        try
        {
            app.Run(context => AnswerAsync(context, system, bootstrap, health));
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                ?? throw new InvalidOperationException("Kestrel started without reporting its address.");
            return new ManagementEndpoint(app, new Uri(bound).Port);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The answer to one request: status code, media type, body.</summary>
    internal static (int Status, string Type, string Body) Answer(ActorSystem system, string path, bool bootstrap)
    {
        const string Text = "text/plain; charset=utf-8";
        if (system.WhenTerminated.IsCompleted)
        {
            return (StatusCodes.Status503ServiceUnavailable, Text, "actor system terminated\n");
        }

        var cluster = AkkaCluster.Get(system);
        switch (path)
        {
            case AlivePath:
                return (StatusCodes.Status200OK, Text, "alive\n");
            case ReadyPath:
                var status = cluster.SelfMember.Status;
                return status == MemberStatus.Up
                    ? (StatusCodes.Status200OK, Text, "ready\n")
                    : (StatusCodes.Status503ServiceUnavailable, Text, $"not ready: member {status}\n");
            case SeedNodesPath when bootstrap:
                return SeedNodes(cluster);
            default:
                return (StatusCodes.Status404NotFound, Text, $"unknown path; try {AlivePath} or {ReadyPath}\n");
        }
    }

    /// <summary>
    /// What a probing node joins through: this node's address and the reachable members that are or are becoming
    /// part of the cluster (none before this node has joined one: then the bootstrap decides who forms it). A node
    /// on its way out refuses, so that nobody joins through it. (Before it joins, a node's own status reads
    /// <c>Removed</c> too; only a cluster extension that has shut down means it was removed for good.)
    /// </summary>
    private static (int Status, string Type, string Body) SeedNodes(AkkaCluster cluster)
    {
        var status = cluster.SelfMember.Status;
        if (status is MemberStatus.Leaving or MemberStatus.Exiting or MemberStatus.Down || cluster.IsTerminated)
        {
            return (StatusCodes.Status503ServiceUnavailable, "text/plain; charset=utf-8", $"leaving the cluster: member {cluster.SelfMember.Status}\n");
        }

        var state = cluster.State;
        var members = state.Members
            .Where(m => (m.Status is MemberStatus.Up or MemberStatus.WeaklyUp or MemberStatus.Joining) && !state.Unreachable.Contains(m))
            .Take(MaxSeedNodes)
            .Select(m => new HttpBootstrapJsonProtocol.ClusterMember(m.Address, m.UniqueAddress.Uid, m.Status, m.Roles))
            .ToImmutableList();
        // The prober reads this with Newtonsoft.Json into these very types: writing them the same way keeps the two in step.
        var body = JsonConvert.SerializeObject(new HttpBootstrapJsonProtocol.SeedNodes(cluster.SelfAddress, members));
        return (StatusCodes.Status200OK, "application/json", body);
    }

    /// <summary>
    /// Our own answer, unless it is a 200 for a health path that a registered check of the path's tag contradicts:
    /// then 503 naming the failing checks. (Akka.Hosting's readiness check stays healthy once the node has joined;
    /// ours turns 503 when it leaves, so the two together keep the path's meaning.)
    /// </summary>
    private static async Task<(int Status, string Type, string Body)> AnswerWithChecksAsync(ActorSystem system, string path, bool bootstrap, HealthCheckService? health, CancellationToken cancellationToken)
    {
        var own = Answer(system, path, bootstrap);
        var tag = path switch
        {
            AlivePath => LivenessTag,
            ReadyPath => ReadinessTag,
            _ => null,
        };
        if (health is null || tag is null || own.Status != StatusCodes.Status200OK)
        {
            return own;
        }

        var report = await health.CheckHealthAsync(r => r.Tags.Contains(tag), cancellationToken).ConfigureAwait(false);
        if (report.Status != HealthStatus.Unhealthy)
        {
            return own;
        }

        var failing = report.Entries.Where(e => e.Value.Status == HealthStatus.Unhealthy).Select(e => $"{e.Key}: {e.Value.Description}");
        return (StatusCodes.Status503ServiceUnavailable, own.Type, $"unhealthy: {string.Join("; ", failing)}\n");
    }

    private static async Task AnswerAsync(HttpContext context, ActorSystem system, bool bootstrap, HealthCheckService? health)
    {
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }

        var (status, type, body) = await AnswerWithChecksAsync(system, context.Request.Path.Value ?? "/", bootstrap, health, context.RequestAborted).ConfigureAwait(false);
        context.Response.StatusCode = status;
        context.Response.ContentType = type;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await context.Response.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
        }
    }
}
