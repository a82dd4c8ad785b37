using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Event;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RnnCluster.Config;
using AkkaConfig = Akka.Configuration.Config;

namespace RnnCluster.Parallel.Cluster;

/// <summary>
/// A cluster node's actor system, created by Akka.Hosting inside a Microsoft.Extensions.Hosting host: the settings
/// of <see cref="ClusterSystem.Config"/>, the TLS certificate when <c>cluster.tls</c> is set, the run's logger
/// factory, and the liveness and readiness checks that <see cref="ManagementEndpoint"/> serves. Stopping the host
/// runs the system's CoordinatedShutdown (leave the cluster, hand a singleton over, terminate); the caller decides
/// when: SIGTERM stays with the executables, which stop at a step boundary first and keep their exit codes.
/// A <see cref="QuarantineWatch"/> downs the node as soon as a member has quarantined it.
/// </summary>
public sealed class ClusterNodeHost : IAsyncDisposable
{
    private readonly IHost _host;
    private int _stopped;

    private ClusterNodeHost(IHost host, ActorSystem system)
    {
        _host = host;
        System = system;
        Health = host.Services.GetRequiredService<HealthCheckService>();
    }

    public ActorSystem System { get; }

    /// <summary>The health checks registered with the host (Akka.Hosting's among them).</summary>
    public HealthCheckService Health { get; }

    /// <summary>Builds and starts the host; the node has not joined anything yet (<see cref="ClusterJoin"/> does that).</summary>
    /// <param name="extra">Akka settings laid over ours (tests; the <c>akka</c> section of cluster.hocon).</param>
    /// <exception cref="ConfigException">A <c>cluster.tls</c> file is missing, unreadable or invalid, or Akka.NET
    /// refused a value of the <c>akka</c> section when it created the system (the message names the key).</exception>
    public static async Task<ClusterNodeHost> StartAsync(ClusterSettings settings, string role, ILoggerFactory loggerFactory, AkkaConfig? extra, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var config = ClusterSystem.Config(settings, role, extra);
        // Loaded before the host is built: Akka.Hosting logs and swallows a failure to create the system, and a bad
        // certificate must stop the node with its ConfigException, before it binds anything.
        var tls = NodeSetup.LoadTls(settings, TimeProvider.System);
        IHost? host = null;
        try
        {
            // Empty: no appsettings, environment variables or command line reach the node's configuration.
            var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Services.AddSingleton<IHostLifetime, CallerOwnsSignals>();
            // Ours, not the host's: the node logs where the run logs. The container does not dispose an instance it was given.
            builder.Services.AddSingleton(loggerFactory);
            builder.Services.AddHealthChecks();
            var tlsLogger = loggerFactory.CreateLogger(typeof(AkkaRemoteTls).FullName!);
            builder.Services.AddAkka(ClusterSystem.SystemName, (akka, _) =>
            {
                akka.AddHocon(config, HoconAddMode.Prepend)
                    .ConfigureLoggers(loggers =>
                    {
                        // The level the settings ask for (the akka section may lower it), not the builder's default.
                        loggers.LogLevel = Logging.LogLevelFor(config.GetString("akka.loglevel", "INFO"));
                        loggers.ClearLoggers();
                        loggers.AddLoggerFactory(loggerFactory);
                    })
                    .WithActorSystemLivenessCheck(tags: [ManagementEndpoint.LivenessTag])
                    .WithAkkaClusterReadinessCheck(tags: [ManagementEndpoint.ReadinessTag]);
                if (tls is not null)
                {
                    akka.AddSetup(AkkaRemoteTls.Setup(tls, tlsLogger));
                }
            });
            host = builder.Build();
            ActorSystem system;
            try
            {
                await host.StartAsync(cancellationToken).ConfigureAwait(false);
                // Throws what creating the system threw, if it failed and the start did not (the hosted service only logged it).
                system = host.Services.GetRequiredService<ActorSystem>();
            }
            catch (Exception e) when (RefusedSetting(e) is { } refusal)
            {
                throw new ConfigException($"akka: Akka.NET refused a setting: {refusal}", e);
            }
            if (tls is not null)
            {
                var certificate = tls;
                tls = null;
                system.RegisterOnTermination(certificate.Dispose);
                AkkaRemoteTls.LogEnabled(certificate, settings.TlsCa, tlsLogger);
            }

            var quarantineWatch = system.ActorOf(Props.Create(() => new QuarantineWatch(loggerFactory)), "quarantine-watch");
            system.EventStream.Subscribe(quarantineWatch, typeof(Akka.Remote.ThisActorSystemQuarantinedEvent));
            var node = new ClusterNodeHost(host, system);
            host = null;
            return node;
        }
        finally
        {
            tls?.Dispose();
            if (host is not null)
            {
                await StopQuietlyAsync(host).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Stops the host: its Akka service runs CoordinatedShutdown, so the node leaves the cluster (a coordinator
    /// singleton hands over first) and its system terminates. Once only; later calls return at once.
    /// </summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _host.StopAsync(CancellationToken.None).ConfigureAwait(false);
        // CoordinatedShutdown's last phase terminates the system; this waits for it, whatever the phases' timeouts did.
        await System.Terminate().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _host.Dispose();
    }

    /// <summary>
    /// What Akka.NET said when a value it reads at system creation was out of its range (our key check
    /// accepts any value of a known key: <c>akka.scheduler.tick-duration = 5ms</c>, say), found under the
    /// invocation and aggregate wrappers; null for anything else, which stays a bug with its stack trace.
    /// </summary>
    internal static string? RefusedSetting(Exception e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            switch (inner)
            {
                case Akka.Configuration.ConfigurationException:
                    return inner.Message;
                case ArgumentException { ParamName: { } name } when name.StartsWith("akka.", StringComparison.Ordinal):
                    return inner.Message.ReplaceLineEndings(" ");
            }
        }

        return null;
    }

    private static async Task StopQuietlyAsync(IHost host)
    {
        try
        {
            await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            host.Dispose();
        }
    }

    /// <summary>
    /// The host's lifetime without signal handlers: the console lifetime would take SIGTERM and Ctrl-C for itself,
    /// while the executables turn them into a stop at a step boundary and their own exit codes (130 included).
    /// </summary>
    private sealed class CallerOwnsSignals : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
