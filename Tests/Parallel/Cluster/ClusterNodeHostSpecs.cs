using System.Net;
using System.Net.Sockets;
using Akka;
using Akka.Actor;
using Akka.Cluster;
using Akka.Remote;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using RnnCluster.Config;
using RnnCluster.Parallel.Cluster;
using Xunit.Abstractions;
using AkkaCluster = Akka.Cluster.Cluster;
using AkkaConfigurationFactory = Akka.Configuration.ConfigurationFactory;

namespace RnnCluster.Tests.Parallel.Cluster;

/// <summary>
/// <see cref="ClusterNodeHost"/>, the host both executables run their node in: a worker node created by Akka.Hosting
/// joins a cluster and answers ready with its registered checks; stopping its host (what SIGTERM ends in) runs
/// CoordinatedShutdown, so it leaves gracefully (the others see it removed from Exiting, not downed) and its
/// <c>/ready</c> answers 503 while it goes.
/// </summary>
public sealed class ClusterNodeHostSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static readonly Akka.Configuration.Config Fast = AkkaConfigurationFactory.ParseString(
        """
        akka.cluster.gossip-interval = 250ms
        akka.cluster.leader-actions-interval = 250ms
        """);

    private readonly ILoggerFactory _loggers = LoggerFactory.Create(b => b.AddProvider(new ClusterBootstrapSpecs.OutputLoggerProvider(output)).SetMinimumLevel(LogLevel.Information));

    [Fact]
    public async Task A_hosted_worker_is_ready_while_up_and_its_host_stop_leaves_the_cluster_through_coordinated_shutdown()
    {
        await using var nodes = new ClusterNodes(loggerFactory: _loggers);
        var observer = nodes.StartFirst();
        var seed = AkkaCluster.Get(observer).SelfAddress;
        var settings = ClusterNodes.Settings($"{seed.Host}:{seed.Port}") with { Management = new ManagementSettings { Port = FreePort() } };

        await using var node = await ClusterNodeHost.StartAsync(settings, ClusterSystem.WorkerRole, _loggers, Fast, CancellationToken.None).WaitAsync(Patience);
        await ClusterJoin.StartAsync(node.System, settings, CancellationToken.None, node.Health).WaitAsync(Patience);
        var self = AkkaCluster.Get(node.System).SelfAddress;
        Assert.Contains(ClusterSystem.WorkerRole, AkkaCluster.Get(node.System).SelfRoles);
        // Our settings, not Akka.Hosting's defaults: the resolver, strict serialization, SIGTERM left to the caller.
        var config = node.System.Settings.Config;
        Assert.Equal("keep-majority", config.GetString("akka.cluster.split-brain-resolver.active-strategy"));
        Assert.False(config.GetBoolean("akka.actor.serialization-settings.allow-unregistered-types"));
        Assert.False(config.GetBoolean("akka.coordinated-shutdown.run-by-clr-shutdown-hook"));

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{settings.Management.Port}"), Timeout = TimeSpan.FromSeconds(10) };
        await AwaitAssertAsync(async () => Assert.Equal((HttpStatusCode.OK, "ready\n"), await GetAsync(http, ManagementEndpoint.ReadyPath)), Patience);
        Assert.Equal((HttpStatusCode.OK, "alive\n"), await GetAsync(http, ManagementEndpoint.AlivePath));
        // Akka.Hosting's own checks are registered under the tags the endpoint asks, and agree.
        Assert.Equal(HealthStatus.Healthy, (await node.Health.CheckHealthAsync(r => r.Tags.Contains(ManagementEndpoint.ReadinessTag))).Status);
        Assert.Single((await node.Health.CheckHealthAsync(r => r.Tags.Contains(ManagementEndpoint.LivenessTag))).Entries);

        var removals = CreateTestProbe(observer);
        AkkaCluster.Get(observer).Subscribe(removals.Ref, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.MemberRemoved));
        // Asked from inside the shutdown, once the node has left: the endpoint itself stops with the actor system.
        var readyWhileLeaving = new TaskCompletionSource<(HttpStatusCode, string)>(TaskCreationOptions.RunContinuationsAsynchronously);
        CoordinatedShutdown.Get(node.System).AddTask(CoordinatedShutdown.PhaseClusterExitingDone, "probe-ready", async () =>
        {
            readyWhileLeaving.TrySetResult(await GetAsync(http, ManagementEndpoint.ReadyPath));
            return Done.Instance;
        });

        await node.StopAsync().WaitAsync(Patience);

        Assert.IsType<CoordinatedShutdown.ClrExitReason>(CoordinatedShutdown.Get(node.System).ShutdownReason);
        Assert.True(node.System.WhenTerminated.IsCompleted);
        var (status, body) = await readyWhileLeaving.Task.WaitAsync(Patience);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.StartsWith("not ready: member ", body, StringComparison.Ordinal);
        var removed = (ClusterEvent.MemberRemoved)await removals.FishForMessageAsync(m => m is ClusterEvent.MemberRemoved r && r.Member.Address == self, Patience);
        Assert.Equal(MemberStatus.Exiting, removed.PreviousStatus);
    }

    [Fact]
    public async Task A_node_another_member_has_quarantined_downs_itself_at_once_and_its_system_terminates()
    {
        await using var nodes = new ClusterNodes(loggerFactory: _loggers);
        var observer = nodes.StartFirst();
        var seed = AkkaCluster.Get(observer).SelfAddress;
        var settings = ClusterNodes.Settings($"{seed.Host}:{seed.Port}");
        await using var node = await ClusterNodeHost.StartAsync(settings, ClusterSystem.WorkerRole, _loggers, Fast, CancellationToken.None).WaitAsync(Patience);
        await ClusterJoin.StartAsync(node.System, settings, CancellationToken.None, node.Health).WaitAsync(Patience);
        var self = AkkaCluster.Get(node.System).SelfAddress;
        // A member, as a worker is long before anyone quarantines it (a node still joining has nothing to down).
        await AwaitConditionAsync(() => Task.FromResult(AkkaCluster.Get(node.System).SelfMember.Status == MemberStatus.Up), Patience);
        var removals = CreateTestProbe(observer);
        AkkaCluster.Get(observer).Subscribe(removals.Ref, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.MemberRemoved));

        // What Akka.Remote publishes when a peer has refused this incarnation for good; the observer still sees the
        // node reachable, so nothing but the watch downs it.
        node.System.EventStream.Publish(new ThisActorSystemQuarantinedEvent(self, seed));

        await node.System.WhenTerminated.WaitAsync(Patience);
        Assert.IsType<CoordinatedShutdown.ClusterDowningReason>(CoordinatedShutdown.Get(node.System).ShutdownReason);
        var removed = (ClusterEvent.MemberRemoved)await removals.FishForMessageAsync(m => m is ClusterEvent.MemberRemoved r && r.Member.Address == self, Patience);
        Assert.Equal(MemberStatus.Down, removed.PreviousStatus);
    }

    [Fact]
    public async Task An_akka_value_that_akka_refuses_at_start_is_a_config_error_naming_the_key()
    {
        var settings = ClusterNodes.Settings() with { Management = new ManagementSettings { Port = FreePort() } };
        var extra = AkkaConfigurationFactory.ParseString("akka.scheduler.tick-duration = 5ms").WithFallback(Fast);

        var error = await Assert.ThrowsAsync<ConfigException>(
            () => ClusterNodeHost.StartAsync(settings, ClusterSystem.WorkerRole, _loggers, extra, CancellationToken.None).WaitAsync(Patience));

        Assert.StartsWith("akka: Akka.NET refused a setting: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("akka.scheduler.tick-duration", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", error.Message, StringComparison.Ordinal);
    }

    private static async Task<(HttpStatusCode Status, string Text)> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _loggers.Dispose();
        }

        base.Dispose(disposing);
    }
}
