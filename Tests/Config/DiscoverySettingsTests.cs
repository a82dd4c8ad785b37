using RnnCluster.Config;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Config;

/// <summary><c>cluster.discovery</c> and <c>cluster.management</c>: read, written back, and refused by key when wrong.</summary>
public sealed class DiscoverySettingsTests
{
    [Fact]
    public void Bootstrap_settings_are_read_from_the_discovery_section_and_round_trip_through_hocon()
    {
        var settings = ConfigLoader.LoadText(
            """
            cluster {
              management { port = 8560, advertised-host = "10.0.0.9" }
              discovery {
                method = config
                service-name = "training-1"
                config-endpoints = ["10.0.0.1:8558", "10.0.0.2:8558", "[::1]:8560"]
                required-contact-points = 3
                stable-margin = 2s
                new-cluster-enabled = off
                pod-label-selector = "app={0},tier=train"
                pod-namespace = "ml"
              }
            }
            """,
            "test.hocon", [], Env.Empty);
        var d = settings.Cluster.Discovery;

        Assert.Equal((DiscoveryMethod.Config, "training-1", 3, TimeSpan.FromSeconds(2), false), (d.Method, d.ServiceName, d.RequiredContactPoints, d.StableMargin, d.NewClusterEnabled));
        Assert.Equal(("app={0},tier=train", "ml"), (d.PodLabelSelector, d.PodNamespace));
        Assert.Equal(new ManagementSettings { Port = 8560, AdvertisedHost = "10.0.0.9" }, settings.Cluster.Management);
        Assert.Equal(["10.0.0.1:8558", "10.0.0.2:8558", "[::1]:8560"], d.ConfigEndpoints);
        Assert.Equal(settings, ConfigLoader.LoadText(settings.ToHocon(), "checkpoint", [], Env.Empty));
        Assert.NotEqual(settings, settings with { Cluster = settings.Cluster with { Discovery = d with { ConfigEndpoints = ["10.0.0.1:8558"] } } });
    }

    [Fact]
    public void Seeds_stay_the_default_way_to_join_and_no_management_endpoint_is_served()
    {
        var cluster = RnnClusterSettings.Default.Cluster;

        Assert.Equal(DiscoveryMethod.Seeds, cluster.Discovery.Method);
        Assert.False(cluster.Discovery.UsesBootstrap);
        Assert.Equal(0, cluster.Management.Port);
    }

    [Theory]
    [InlineData("cluster.discovery.method = dns", "cluster.discovery.method = dns at bad.hocon:1: expected one of 'seeds', 'config' or 'kubernetes'")]
    [InlineData("cluster.discovery.method = config", "cluster.discovery.config-endpoints (built-in default): method = config needs")]
    [InlineData("cluster.discovery { method = config, config-endpoints = [\"a:8558\"], required-contact-points = 2 }", "cluster.discovery.required-contact-points = 2 at bad.hocon:1: is more than the 1 config-endpoints")]
    [InlineData("cluster.discovery { method = config, config-endpoints = [\"a:8558\", \"b\"], required-contact-points = 1 }", "cluster.discovery.config-endpoints")]
    [InlineData("cluster { seeds = [\"a:2552\"], management.port = 8558, discovery { method = kubernetes } }", "cluster.seeds = [\"a:2552\"] at bad.hocon:1: must be empty with cluster.discovery.method = kubernetes")]
    [InlineData("cluster.discovery.pod-label-selector = \"app={name}\"", "cluster.discovery.pod-label-selector")]
    [InlineData("cluster.discovery.method = kubernetes", "cluster.management.port (built-in default): cluster.discovery.method = kubernetes finds the cluster through every node's management endpoint")]
    [InlineData("cluster.management.port = 70000", "cluster.management.port = 70000")]
    [InlineData("cluster.management.advertised-host = \"a/b\"", "cluster.management.advertised-host")]
    [InlineData("cluster.discovery.service-name = \"two words\"", "cluster.discovery.service-name")]
    [InlineData("cluster.discovery.required-contact-points = 0", "cluster.discovery.required-contact-points = 0")]
    [InlineData("cluster.discovery.pod-label-selectr = \"app=x\"", "did you mean 'cluster.discovery.pod-label-selector'?")]
    public void Bad_discovery_settings_name_the_key(string hocon, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadText(hocon, "bad.hocon", [], Env.Empty));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Akka_management_keys_may_be_tuned_in_the_akka_section_and_typos_there_are_refused()
    {
        ConfigLoader.LoadText("akka.management.cluster.bootstrap.contact-point.probe-interval = 2s", "ok.hocon", [], Env.Empty);

        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadText("akka.management.cluster.bootstrap.contact-point.probe-intervall = 2s", "bad.hocon", [], Env.Empty));

        Assert.Contains("did you mean 'akka.management.cluster.bootstrap.contact-point.probe-interval'?", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_kubernetes_deployments_settings_load_with_the_per_pod_overrides_its_manifests_give()
    {
        var file = Path.Combine(RepositoryRoot.Path, "deploy", "k8s", "cluster.hocon");
        // What workers.yaml puts in RNNCLUSTER_SET, with the pod's name and IP filled in.
        var overrides = ConfigOverrides.FromEnvironment(name => name == "RNNCLUSTER_SET"
            ? "cluster.host=\"rnncluster-workers-0.rnncluster\";cluster.management.advertised-host=\"10.1.2.3\""
            : null);

        var cluster = ConfigLoader.Load(file, overrides, Env.Of(("RNNCLUSTER_SECRET", "0123456789abcdef0123456789abcdef"))).Cluster;

        Assert.Equal((DiscoveryMethod.Kubernetes, "rnncluster", "app.kubernetes.io/name={0}"), (cluster.Discovery.Method, cluster.Discovery.ServiceName, cluster.Discovery.PodLabelSelector));
        Assert.Equal(new ManagementSettings { Port = 8558, AdvertisedHost = "10.1.2.3" }, cluster.Management);
        Assert.Equal(("rnncluster-workers-0.rnncluster", 2552), (cluster.Host, cluster.Port));
        Assert.Empty(cluster.Seeds);
    }
}
