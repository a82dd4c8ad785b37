using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using MemberStatus = Akka.Cluster.MemberStatus;
using Microsoft.Extensions.Logging;
using RnnCluster.Config;
using RnnCluster.Parallel.Cluster;
using Xunit.Abstractions;
using AkkaCluster = Akka.Cluster.Cluster;
using AkkaConfigurationFactory = Akka.Configuration.ConfigurationFactory;

namespace RnnCluster.Tests.Parallel.Cluster;

/// <summary>
/// <see cref="ClusterJoin"/> and <see cref="ManagementEndpoint"/> with actor systems on loopback: nodes that know
/// only each other's management endpoints (<c>cluster.discovery.method = config</c>) form one cluster without
/// seeds, through Akka.Management's bootstrap asking our endpoints, and later nodes join it; a node's endpoint
/// answers alive at once and ready once it is Up.
/// </summary>
public sealed class ClusterBootstrapSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    // Formation waits for stable-margin, then for probes of every contact point; generous for a loaded machine.
    private static readonly TimeSpan Formation = TimeSpan.FromSeconds(60);

    // The bootstrap's probing and the cluster's gossip sped up; the decision logic is Akka.Management's own.
    private static readonly Akka.Configuration.Config Fast = AkkaConfigurationFactory.ParseString(
        """
        akka.management.cluster.bootstrap.contact-point-discovery.interval = 500ms
        akka.management.cluster.bootstrap.contact-point.probe-interval = 500ms
        akka.cluster.gossip-interval = 250ms
        akka.cluster.leader-actions-interval = 250ms
        """);

    private readonly ILoggerFactory _loggers = LoggerFactory.Create(b => b.AddProvider(new OutputLoggerProvider(output)).SetMinimumLevel(LogLevel.Information));

    [Fact]
    public async Task Nodes_with_config_discovery_form_one_cluster_without_seeds_and_a_later_node_joins_it()
    {
        var ports = FreePorts(4);
        var endpoints = ports[..3].Select(p => $"127.0.0.1:{p}").ToArray();
        var systems = new List<ActorSystem>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                systems.Add(await StartAsync(Bootstrapping(endpoints, ports[i]), i == 0 ? ClusterSystem.CoordinatorRole : ClusterSystem.WorkerRole));
            }

            await AwaitAssertAsync(() => Assert.All(systems, s => Assert.Equal(3, UpMembers(s))), Formation);
            Assert.All(systems, s => Assert.Empty(AkkaCluster.Get(s).Settings.SeedNodes));
            Assert.Single(AkkaCluster.Get(systems[2]).State.Members, m => m.HasRole(ClusterSystem.CoordinatorRole));

            // Every node's readiness says so over HTTP, as a Kubernetes probe would ask.
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            foreach (var port in ports[..3])
            {
                Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri($"http://127.0.0.1:{port}{ManagementEndpoint.ReadyPath}"))).StatusCode);
            }

            // A node started after the cluster formed (a restarted pod) is told the members and joins them.
            systems.Add(await StartAsync(Bootstrapping([.. endpoints, $"127.0.0.1:{ports[3]}"], ports[3]), ClusterSystem.CoordinatorRole));
            await AwaitAssertAsync(() => Assert.All(systems, s => Assert.Equal(4, UpMembers(s))), Formation);
        }
        finally
        {
            await Task.WhenAll(systems.Select(s => s.Terminate()));
        }
    }

    [Fact]
    public async Task A_nodes_health_endpoint_answers_alive_at_once_and_ready_only_while_it_is_an_up_member()
    {
        var system = ClusterSystem.Create(ClusterNodes.Settings(), ClusterSystem.CoordinatorRole, _loggers, Fast);
        await using var health = await ManagementEndpoint.StartAsync(system, "127.0.0.1", 0, bootstrap: false, CancellationToken.None);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{health.Port}"), Timeout = TimeSpan.FromSeconds(10) };

        Assert.Equal((HttpStatusCode.OK, "alive\n"), await GetAsync(http, ManagementEndpoint.AlivePath));
        var (notYet, why) = await GetAsync(http, ManagementEndpoint.ReadyPath);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notYet);
        Assert.StartsWith("not ready: member ", why, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync(http, "/metrics")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync(http, ManagementEndpoint.SeedNodesPath)).Status);

        var cluster = AkkaCluster.Get(system);
        cluster.Join(cluster.SelfAddress);
        await AwaitAssertAsync(async () => Assert.Equal((HttpStatusCode.OK, "ready\n"), await GetAsync(http, ManagementEndpoint.ReadyPath)), Formation);

        await cluster.LeaveAsync().WaitAsync(Formation);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await GetAsync(http, ManagementEndpoint.ReadyPath)).Status);
        await system.Terminate();
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "actor system terminated\n"), await GetAsync(http, ManagementEndpoint.AlivePath));
    }

    [Fact]
    public async Task A_management_port_that_is_taken_is_reported_with_its_key()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var settings = Bootstrapping([$"127.0.0.1:{port}"], port);
        var system = ClusterSystem.Create(settings, ClusterSystem.WorkerRole, _loggers, Fast);
        try
        {
            var e = await Assert.ThrowsAsync<IOException>(() => ClusterJoin.StartAsync(system, settings, CancellationToken.None));
            Assert.Contains($"cluster.management.port = {port}: the management endpoint cannot listen on 127.0.0.1", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public void Seeds_need_no_akka_management_settings_and_bootstrap_leaves_seed_nodes_empty()
    {
        Assert.True(ClusterJoin.Config(ClusterNodes.Settings("127.0.0.1:2552")).IsEmpty);

        var config = ClusterSystem.Config(Bootstrapping(["10.0.0.1:8558", "10.0.0.2:8558"], 8558), ClusterSystem.WorkerRole);

        Assert.Empty(config.GetStringList("akka.cluster.seed-nodes"));
        Assert.Equal("config", config.GetString("akka.discovery.method"));
        Assert.Equal(["10.0.0.1:8558", "10.0.0.2:8558"], config.GetStringList("akka.discovery.config.services.rnncluster.endpoints"));
        Assert.Equal(2, config.GetInt("akka.management.cluster.bootstrap.contact-point-discovery.required-contact-point-nr"));
    }

    [Fact]
    public void Kubernetes_discovery_lists_the_pods_by_label_and_finds_their_management_port_by_name()
    {
        var settings = ClusterNodes.Settings() with
        {
            Host = "rnncluster-workers-0.rnncluster",
            Discovery = DiscoverySettings.Default with { Method = DiscoveryMethod.Kubernetes, PodNamespace = "training" },
            Management = new ManagementSettings { Port = 8558, AdvertisedHost = "10.1.2.3" },
        };

        var config = ClusterSystem.Config(settings, ClusterSystem.WorkerRole);

        Assert.Equal("kubernetes-api", config.GetString("akka.discovery.method"));
        Assert.Equal("app.kubernetes.io/name={0}", config.GetString("akka.discovery.kubernetes-api.pod-label-selector"));
        Assert.Equal("training", config.GetString("akka.discovery.kubernetes-api.pod-namespace"));
        Assert.Contains("KubernetesApiServiceDiscovery", config.GetString("akka.discovery.kubernetes-api.class"), StringComparison.Ordinal);
        Assert.Equal(ClusterJoin.ManagementPortName, config.GetString("akka.management.cluster.bootstrap.contact-point-discovery.port-name"));
        Assert.Equal("cluster bootstrap over the pods labelled app.kubernetes.io/name=rnncluster in namespace training", ClusterJoin.Describe(settings));
    }

    protected override void AfterAll()
    {
        _loggers.Dispose();
        base.AfterAll();
    }

    private static ClusterSettings Bootstrapping(string[] endpoints, int managementPort) => ClusterNodes.Settings() with
    {
        Discovery = DiscoverySettings.Default with
        {
            Method = DiscoveryMethod.Config,
            ConfigEndpoints = endpoints,
            RequiredContactPoints = Math.Min(endpoints.Length, 3),
            StableMargin = TimeSpan.FromSeconds(1),
        },
        Management = new ManagementSettings { Port = managementPort },
    };

    private static int UpMembers(ActorSystem system) => AkkaCluster.Get(system).State.Members.Count(m => m.Status == MemberStatus.Up);

    private static async Task<(HttpStatusCode Status, string Text)> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Distinct ports free now; held together so none is handed out twice.</summary>
    private static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        try
        {
            foreach (var listener in listeners)
            {
                listener.Start();
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Dispose();
            }
        }
    }

    private async Task<ActorSystem> StartAsync(ClusterSettings settings, string role)
    {
        var system = ClusterSystem.Create(settings, role, _loggers, Fast);
        await ClusterJoin.StartAsync(system, settings, CancellationToken.None);
        return system;
    }

    /// <summary>Node logs into the test's output, so a failed formation shows the bootstrap's reasoning.</summary>
    internal sealed class OutputLoggerProvider(ITestOutputHelper output) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new OutputLogger(output, categoryName);

        public void Dispose()
        {
        }

        private sealed class OutputLogger(ITestOutputHelper output, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                try
                {
                    output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {formatter(state, exception)}");
                }
                catch (InvalidOperationException)
                {
                    // The test has ended; a node still shutting down has nobody to tell.
                }
            }
        }
    }
}
