using System.Globalization;
using Akka.Actor;
using Akka.Discovery.KubernetesApi;
using Akka.Management.Dsl;
using Akka.Management.Cluster.Bootstrap;
using RnnCluster.Config;
using AkkaCluster = Akka.Cluster.Cluster;
using AkkaConfig = Akka.Configuration.Config;
using AkkaConfigurationFactory = Akka.Configuration.ConfigurationFactory;

namespace RnnCluster.Parallel.Cluster;

/// <summary>
/// How a node becomes a member, by <c>cluster.discovery.method</c>:
/// <list type="bullet">
/// <item><c>seeds</c>: Akka joins <c>cluster.seeds</c> by itself (they are its <c>seed-nodes</c>); a node without
/// seeds is the first one and forms the cluster by joining itself.</item>
/// <item><c>config</c>, <c>kubernetes</c>: seed-nodes stay empty and Akka.Management's cluster bootstrap runs. It
/// discovers contact points (every node's management endpoint), asks each for the members it knows and joins
/// them; when nobody has a cluster yet and the discovered set has been stable for <c>stable-margin</c>, the
/// contact point with the lowest address forms one.</item>
/// </list>
/// With <c>cluster.management.port</c> set it also starts the node's <see cref="ManagementEndpoint"/> (health
/// probes and, for the bootstrap, the seed-node answers), which stops when the actor system terminates.
/// </summary>
public static class ClusterJoin
{
    /// <summary>The container port name the Kubernetes discovery looks for on each pod.</summary>
    public const string ManagementPortName = "management";

    /// <summary>
    /// The Akka settings the method needs, for <see cref="ClusterSystem.Config"/> to lay under its own (the
    /// bootstrap and the discovery read them when they start). Empty for <c>seeds</c>.
    /// </summary>
    public static AkkaConfig Config(ClusterSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var discovery = settings.Discovery;
        if (!discovery.UsesBootstrap)
        {
            return AkkaConfig.Empty;
        }

        var kubernetes = discovery.Method == DiscoveryMethod.Kubernetes;
        var bootstrap = AkkaConfigurationFactory.ParseString(
            $$"""
            akka.management.cluster.bootstrap {
              new-cluster-enabled = {{(discovery.NewClusterEnabled ? "on" : "off")}}
              contact-point-discovery {
                service-name = {{Quote(discovery.ServiceName)}}
                discovery-method = akka.discovery
                # Kubernetes: each pod's container port of this name is its contact point. Config endpoints carry their port.
                port-name = {{Quote(kubernetes ? ManagementPortName : "")}}
                required-contact-point-nr = {{discovery.RequiredContactPoints.ToString(CultureInfo.InvariantCulture)}}
                stable-margin = {{((long)discovery.StableMargin.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)}}ms
              }
              contact-point {
                fallback-port = {{settings.Management.Port.ToString(CultureInfo.InvariantCulture)}}
                # Nodes sharing a host (one machine, tests) differ only by port: keep them all.
                filter-on-fallback-port = off
              }
            }
            akka.discovery.method = {{(kubernetes ? "kubernetes-api" : "config")}}
            """);
        return (kubernetes ? KubernetesDiscovery(discovery) : ConfigDiscovery(discovery)).WithFallback(bootstrap);
    }

    /// <summary>
    /// Starts joining. It returns before the node is a member (readiness tells when it is): with seeds, Akka keeps
    /// trying for <c>cluster.join-timeout</c>; the bootstrap keeps looking until a cluster forms or is found.
    /// </summary>
    /// <param name="health">The node host's health checks, for the management endpoint to serve too; none for a bare system.</param>
    /// <exception cref="IOException">The management port could not be bound.</exception>
    public static async Task StartAsync(ActorSystem system, ClusterSettings settings, CancellationToken cancellationToken, Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService? health = null)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(settings);
        var bootstrap = settings.Discovery.UsesBootstrap;
        if (settings.Management.Port > 0)
        {
            ManagementEndpoint endpoint;
            try
            {
                endpoint = await ManagementEndpoint.StartAsync(system, settings.Host, settings.Management.Port, bootstrap, cancellationToken, health).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new IOException($"cluster.management.port = {settings.Management.Port}: the management endpoint cannot listen on {settings.Host}: {e.Message}", e);
            }

            _ = StopWithAsync(system, endpoint);
        }

        if (!bootstrap)
        {
            if (settings.Seeds.Count == 0)
            {
                // The first node of the cluster: the seed the others join through.
                var cluster = AkkaCluster.Get(system);
                cluster.Join(cluster.SelfAddress);
            }

            return;
        }

        // The bootstrap learns its own contact point from the routes it is asked for; they are never served (the
        // endpoint above answers instead), but asking is what tells it which discovered contact point is itself.
        var advertised = settings.Management.AdvertisedHost.Length > 0 ? settings.Management.AdvertisedHost : settings.Host;
        var self = new UriBuilder(Uri.UriSchemeHttp, advertised, settings.Management.Port).Uri;
        var contactPoint = ClusterBootstrap.Get(system);
        _ = contactPoint.Routes(ManagementRouteProviderSettings.Create(self, readOnly: true));
        await contactPoint.Start().ConfigureAwait(false);
    }

    /// <summary>How this node finds its cluster, for the line a node prints when it starts.</summary>
    public static string Describe(ClusterSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var discovery = settings.Discovery;
        return discovery.Method switch
        {
            DiscoveryMethod.Config => $"cluster bootstrap over the management endpoints {string.Join(", ", discovery.ConfigEndpoints)}",
            DiscoveryMethod.Kubernetes => $"cluster bootstrap over the pods labelled {string.Format(CultureInfo.InvariantCulture, discovery.PodLabelSelector, discovery.ServiceName)} in {(discovery.PodNamespace.Length > 0 ? $"namespace {discovery.PodNamespace}" : "this pod's namespace")}",
            _ when settings.Seeds.Count == 0 => "itself (no seeds: the first node)",
            _ => $"the seeds {string.Join(", ", settings.Seeds)}",
        };
    }

    private static AkkaConfig ConfigDiscovery(DiscoverySettings discovery) => AkkaConfigurationFactory.ParseString(
        $$"""
        akka.discovery.config.services {
          {{Quote(discovery.ServiceName)}} {
            endpoints = [{{string.Join(", ", discovery.ConfigEndpoints.Select(Quote))}}]
          }
        }
        """);

    private static AkkaConfig KubernetesDiscovery(DiscoverySettings discovery)
    {
        var podNamespace = discovery.PodNamespace.Length > 0 ? $"pod-namespace = {Quote(discovery.PodNamespace)}" : "";
        var settings = AkkaConfigurationFactory.ParseString(
            $$"""
            akka.discovery.kubernetes-api {
              pod-label-selector = {{Quote(discovery.PodLabelSelector)}}
              {{podNamespace}}
            }
            """);
        // The method's own defaults (its class above all) must be there before the bootstrap loads it by name.
        return settings.WithFallback(Akka.Discovery.KubernetesApi.KubernetesDiscovery.DefaultConfiguration());
    }

    private static async Task StopWithAsync(ActorSystem system, ManagementEndpoint endpoint)
    {
        await system.WhenTerminated.ConfigureAwait(false);
        await endpoint.DisposeAsync().ConfigureAwait(false);
    }

    private static string Quote(string text) => "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
