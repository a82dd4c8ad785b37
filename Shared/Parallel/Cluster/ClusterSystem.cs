using System.Globalization;
using Akka.Actor;
using Microsoft.Extensions.Logging;
using RnnCluster.Config;
using AkkaConfig = Akka.Configuration.Config;
using AkkaConfigurationFactory = Akka.Configuration.ConfigurationFactory;

namespace RnnCluster.Parallel.Cluster;

/// <summary>
/// The Akka.Cluster actor system of one node of a run, configured from <c>cluster.*</c>: Akka.Remote on
/// <c>cluster.host:port</c>, the node's role, the seeds, the phi-accrual failure detector, the
/// split-brain resolver (keep-majority), our control serializer with unregistered types refused, and
/// TLS whenever <c>cluster.tls.certificate</c> is set (see <see cref="AkkaRemoteTls"/>). Every node of a
/// cluster must use the same resolver and TLS settings: a TLS node and a plaintext one never connect.
/// </summary>
public static class ClusterSystem
{
    /// <summary>One name for every node's system: Akka joins only systems of the same name.</summary>
    public const string SystemName = "rnncluster";

    public const string CoordinatorRole = "coordinator";

    public const string WorkerRole = "worker";

    /// <summary>
    /// The settings of one node, <paramref name="extra"/> first (tests put Akka.Remote's throttler there;
    /// the <c>akka</c> section of the user's cluster.hocon goes there too), then what <c>cluster.*</c> says,
    /// then our defaults, then Akka's own.
    /// </summary>
    public static AkkaConfig Config(ClusterSettings settings, string role, AkkaConfig? extra = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentException.ThrowIfNullOrEmpty(role);
        var seeds = Seeds(settings).Select(a => Quote(a.ToString()));
        var bindings = string.Join("\n", ControlSerializer.MessageTypes.Select(t => $"{Quote($"{t.FullName}, {t.Assembly.GetName().Name}")} = rnncluster-control"));
        var fromSettings = AkkaConfigurationFactory.ParseString(
            $$"""
            akka.remote.dot-netty.tcp.hostname = {{Quote(settings.Host)}}
            akka.remote.dot-netty.tcp.port = {{settings.Port.ToString(CultureInfo.InvariantCulture)}}
            akka.cluster.roles = [{{Quote(role)}}]
            akka.cluster.seed-nodes = [{{string.Join(", ", seeds)}}]
            akka.cluster.failure-detector.heartbeat-interval = {{Millis(settings.HeartbeatInterval)}}
            akka.cluster.failure-detector.acceptable-heartbeat-pause = {{Millis(settings.AcceptableHeartbeatPause)}}
            akka.cluster.failure-detector.threshold = {{settings.PhiThreshold.ToString(CultureInfo.InvariantCulture)}}
            akka.cluster.shutdown-after-unsuccessful-join-seed-nodes = {{Millis(settings.JoinTimeout)}}
            akka.scheduler.tick-duration = {{Millis(SchedulerTick(settings.HeartbeatInterval))}}
            akka.actor.serialization-bindings {
            {{bindings}}
            }
            """);
        var config = fromSettings.WithFallback(ClusterJoin.Config(settings)).WithFallback(Defaults).WithFallback(ParallelSystem.Defaults);
        if (IsTls(settings))
        {
            // The akka section cannot turn it off again (AkkaSection refuses the TLS keys).
            config = AkkaRemoteTls.On.WithFallback(config);
        }

        return extra is null ? config : extra.WithFallback(config);
    }

    /// <summary>The Akka addresses of <c>cluster.seeds</c> (<c>host:port</c> each), TLS ones when this node uses TLS.</summary>
    /// <exception cref="ConfigException">A seed is not <c>host:port</c>.</exception>
    public static IReadOnlyList<Address> Seeds(ClusterSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var protocol = IsTls(settings) ? AkkaRemoteTls.Protocol : "akka.tcp";
        return [.. settings.Seeds.Select(s => SeedAddress.TryParse(s, out var seed)
            ? new Address(protocol, SystemName, seed.Host, seed.Port)
            : throw new ConfigException($"cluster.seeds: '{s}' is not host:port"))];
    }

    /// <summary>
    /// The actor system of one node with <see cref="Config"/>'s settings and, when <c>cluster.tls</c> is
    /// set, its certificate: loaded here, so a bad file stops the node before it binds anything. A bare system, for
    /// specs of the cluster's parts; the executables run theirs in a <see cref="ClusterNodeHost"/> (same settings).
    /// </summary>
    /// <exception cref="ConfigException">A <c>cluster.tls</c> file is missing, unreadable or invalid (the message names its key and path).</exception>
    public static ActorSystem Create(ClusterSettings settings, string role, ILoggerFactory loggerFactory, AkkaConfig? extra = null)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var config = Config(settings, role, extra);
        if (NodeSetup.LoadTls(settings, TimeProvider.System) is not { } tls)
        {
            return ParallelSystem.Create(SystemName, loggerFactory, config);
        }

        try
        {
            var logger = loggerFactory.CreateLogger(typeof(AkkaRemoteTls).FullName!);
            var system = ParallelSystem.Create(SystemName, loggerFactory, config, AkkaRemoteTls.Setup(tls, logger));
            system.RegisterOnTermination(tls.Dispose);
            AkkaRemoteTls.LogEnabled(tls, settings.TlsCa, logger);
            return system;
        }
        catch
        {
            tls.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The resolution of Akka's scheduler on a node: a twentieth of the heartbeat interval, within
    /// 10–50 ms (1 s gives 50 ms). Each tick wakes two threads (the runtime's timer thread, then a pool
    /// thread): with Akka's 10 ms a training coordinator's timer thread woke ~310 times a second, with
    /// 50 ms ~70 (its CPU per step moved within this 2-core machine's noise). A node's timers are 250 ms
    /// (the singleton hand-over retry) or longer, most of them a heartbeat or more.
    /// </summary>
    public static TimeSpan SchedulerTick(TimeSpan heartbeatInterval) =>
        TimeSpan.FromMilliseconds(Math.Clamp(Math.Floor(heartbeatInterval.TotalMilliseconds / 20), AkkaSection.MinimumSchedulerTick.TotalMilliseconds, 50));

    private static bool IsTls(ClusterSettings settings) => NodeSetup.TlsFiles(settings) is not null;

    // What each value trades off is in the comments (and in cluster.hocon for the keys users set).
    private static readonly AkkaConfig Defaults = AkkaConfigurationFactory.ParseString(
        """
        akka {
          actor {
            provider = cluster
            serializers.rnncluster-control = "RnnCluster.Parallel.Cluster.ControlSerializer, RnnCluster.Shared"
            # Strict: a message type of ours without a binding fails instead of falling back to JSON.
            serialization-settings.allow-unregistered-types = off
          }
          remote {
            # Control messages only (tensors use the data plane): 1 MiB is far above any of ours.
            dot-netty.tcp.maximum-frame-size = 2MiB
            log-frame-size-exceeding = 64KiB
          }
          cluster {
            # Keep the side with most members; a tie keeps the side with the lowest address. A 2-node
            # cluster cannot survive the loss of the "wrong" node: run at least 3 members.
            downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
            split-brain-resolver {
              active-strategy = keep-majority
              # Unreachability must last this long before a side is downed. Akka's 20 s makes a crashed
              # coordinator's singleton move after ~47 s; 5 s measured ~16 s. Shorter risks downing
              # nodes for GC or scheduling pauses.
              stable-after = 5s
            }
            # The removed node's singleton may start elsewhere this soon (Akka: off = stable-after). Our
            # run-directory lock and fence make an early second coordinator harmless (cluster.hocon says why).
            down-removal-margin = 2s
            # A downed node's system terminates; the worker then exits 3 and its launcher
            # (script, systemd, Kubernetes) restarts it as a new incarnation.
            run-coordinated-shutdown-when-down = on
            singleton.role = coordinator
            # A leaving coordinator's node offers the singleton to the next one this often (Akka: 1s); the
            # hand-over waits for it, so a shorter interval moves the coordinator sooner on SIGTERM.
            singleton.hand-over-retry-interval = 250ms
            singleton-proxy.role = coordinator
          }
        }
        """);

    private static string Quote(string text) => "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private static string Millis(TimeSpan span) => $"{((long)span.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)}ms";
}
