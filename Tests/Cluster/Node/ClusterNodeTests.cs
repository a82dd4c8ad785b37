using Microsoft.Extensions.Logging;
using RnnCluster.Actors;
using RnnCluster.Cluster;
using RnnCluster.Config;
using RnnCluster.TestKit;
using RnnCluster.Training.Cluster;

namespace RnnCluster.Tests.Cluster.Node;

/// <summary>Two cluster nodes in one process on loopback: joining, remote tells, death watch by membership, downing.</summary>
public sealed class ClusterNodeTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static ClusterSettings Fast => ClusterSettings.Default with
    {
        Port = 0,
        HeartbeatInterval = TimeSpan.FromMilliseconds(100),
        // Long: no test here relies on the detector, and a loaded machine running other test classes
        // in parallel must not get a healthy node downed by a stalled heartbeat timer.
        AcceptableHeartbeatPause = TimeSpan.FromSeconds(5),
        JoinTimeout = TimeSpan.FromSeconds(20),
    };

    private static Task<ClusterNode> StartAsync(string role, ClusterSettings settings, ulong incarnation, params SeedAddress[] seeds) =>
        ClusterNode.StartAsync(
            new ClusterNodeOptions { Settings = settings, Role = role, Incarnation = incarnation, Seeds = seeds },
            ClusterProtocol.CreateRegistry(), LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Warning)), TimeProvider.System, CancellationToken.None);

    /// <summary>A coordinator and a worker that has joined it; the caller disposes both.</summary>
    private static async Task<(ClusterNode Leader, ClusterNode Worker)> StartJoinedPairAsync()
    {
        var leader = await StartAsync(ClusterNodeOptions.CoordinatorRole, Fast, 1);
        var worker = await StartAsync(ClusterNodeOptions.WorkerRole, Fast, 2, SeedOf(leader));
        await Subscribe<JoinedCluster>(worker).ExpectMsgAsync<JoinedCluster>(timeout: Wait);
        return (leader, worker);
    }

    private static SeedAddress SeedOf(ClusterNode node) => new("127.0.0.1", new Uri(node.Identity.Address).Port);

    private static TestProbe Subscribe<T>(ClusterNode node)
    {
        var probe = new TestProbe(node.System, "probe-" + typeof(T).Name);
        node.System.EventStream.Subscribe<T>(probe.Ref);
        return probe;
    }

    [Fact]
    public async Task A_worker_joins_through_its_seed_and_the_leader_publishes_MemberUp_with_its_role()
    {
        await using var leader = await StartAsync(ClusterNodeOptions.CoordinatorRole, Fast, 1);
        var up = Subscribe<MemberUp>(leader);
        await using var worker = await StartAsync(ClusterNodeOptions.WorkerRole, Fast, 2, SeedOf(leader));
        var joined = Subscribe<JoinedCluster>(worker);

        var member = (await up.ExpectMsgAsync<MemberUp>(timeout: Wait)).Member;
        Assert.True(member.HasRole(ClusterNodeOptions.WorkerRole));
        Assert.Equal(2, member.Address.Incarnation);
        Assert.Equal(leader.System.Address.ToString(), (await joined.ExpectMsgAsync<JoinedCluster>(timeout: Wait)).LeaderAddress);
    }

    [Fact]
    public async Task A_remote_tell_arrives_with_the_sender_as_a_ref_the_reply_can_use()
    {
        await using var leader = await StartAsync(ClusterNodeOptions.CoordinatorRole, Fast, 1);
        await using var worker = await StartAsync(ClusterNodeOptions.WorkerRole, Fast, 2, SeedOf(leader));
        await Subscribe<JoinedCluster>(worker).ExpectMsgAsync<JoinedCluster>(timeout: Wait);
        // A registered message type travels; the leader's daemon answers a repeated join with a Welcome.
        var probe = new TestProbe(worker.System, "asker");
        var daemon = worker.Messaging.Resolve(leader.System.Address + "/system/cluster");
        daemon.Tell(new RnnCluster.Remote.Protocol.JoinRequest { NodeAddress = worker.System.Address.ToString(), Incarnation = 2, Roles = { ClusterNodeOptions.WorkerRole } }, probe.Ref);

        var welcome = await probe.ExpectMsgAsync<RnnCluster.Remote.Protocol.Welcome>(timeout: Wait);
        Assert.Equal(leader.System.Address.ToString(), welcome.LeaderAddress);
        Assert.Equal(1UL, welcome.LeaderIncarnation);
    }

    [Fact]
    public async Task Watching_a_remote_actor_ends_in_Terminated_when_its_node_leaves_gracefully()
    {
        await using var leader = await StartAsync(ClusterNodeOptions.CoordinatorRole, Fast, 1);
        var removed = Subscribe<MemberRemoved>(leader);
        await using var worker = await StartAsync(ClusterNodeOptions.WorkerRole, Fast, 2, SeedOf(leader));
        await Subscribe<JoinedCluster>(worker).ExpectMsgAsync<JoinedCluster>(timeout: Wait);
        var left = Subscribe<LeftCluster>(worker);
        var watcher = new TestProbe(leader.System, "watcher");
        var remoteDaemon = leader.Messaging.Resolve(worker.System.Address + "/system/cluster");
        watcher.Watch(remoteDaemon);

        worker.Daemon.Tell(LeaveCluster.Instance, null);

        await left.ExpectMsgAsync<LeftCluster>(timeout: Wait);
        Assert.Equal(MemberStatus.Exiting, (await removed.ExpectMsgAsync<MemberRemoved>(timeout: Wait)).PreviousStatus);
        Assert.Same(remoteDaemon, (await watcher.ExpectTerminatedAsync(remoteDaemon, Wait)).ActorRef);
    }

    [Fact]
    public async Task A_worker_learns_the_run_finished_from_the_coordinators_farewell_alone()
    {
        var (leader, worker) = await StartJoinedPairAsync();
        await using var _ = worker;
        var finished = Subscribe<ClusterRunFinished>(worker);

        // No RunFinished message (as if it had missed this worker): only the connection's farewell.
        leader.Transport.Farewell = ClusterFarewell.RunFinished("training finished");
        await leader.DisposeAsync();

        Assert.Equal("training finished", (await finished.ExpectMsgAsync<ClusterRunFinished>(timeout: Wait)).Message);
    }

    [Fact]
    public async Task A_coordinator_that_stops_without_a_farewell_is_waited_for()
    {
        var (leader, worker) = await StartJoinedPairAsync();
        await using var _ = worker;
        var finished = Subscribe<ClusterRunFinished>(worker);
        var failed = Subscribe<JoinFailed>(worker);

        await leader.DisposeAsync();

        // Interrupted, not finished: the worker waits (up to cluster.join-timeout) for it to come back.
        await finished.ExpectNoMsgAsync(TimeSpan.FromSeconds(1));
        await failed.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task A_node_that_goes_away_is_downed_at_once_and_its_incarnation_is_refused_when_it_asks_again()
    {
        await using var leader = await StartAsync(ClusterNodeOptions.CoordinatorRole, Fast, 1);
        var downed = Subscribe<MemberDowned>(leader);
        var fixedPort = Fast with { Port = Processes.NodeProcess.FreePort() };
        var worker = await StartAsync(ClusterNodeOptions.WorkerRole, fixedPort, 5, SeedOf(leader));
        await Subscribe<JoinedCluster>(worker).ExpectMsgAsync<JoinedCluster>(timeout: Wait);

        // Gone without leaving: the connection closes and the port refuses connections, which the
        // leader takes as proof the process is gone — no need to wait for the failure detector.
        await worker.DisposeAsync();
        Assert.Equal(5, (await downed.ExpectMsgAsync<MemberDowned>(timeout: Wait)).Member.Address.Incarnation);

        // The same incarnation again (a paused process waking up): refused, and told so.
        await using var again = await StartAsync(ClusterNodeOptions.WorkerRole, fixedPort, 5, SeedOf(leader));
        var refused = await Subscribe<DownedByLeader>(again).ExpectMsgAsync<DownedByLeader>(timeout: Wait);
        Assert.Contains("downed or removed", refused.Reason, StringComparison.Ordinal);
        // A new incarnation is welcome.
        await again.DisposeAsync();
        await using var reborn = await StartAsync(ClusterNodeOptions.WorkerRole, fixedPort, 6, SeedOf(leader));
        await Subscribe<JoinedCluster>(reborn).ExpectMsgAsync<JoinedCluster>(timeout: Wait);
    }

    [Fact]
    public async Task Seeds_that_never_answer_end_in_JoinFailed_naming_them()
    {
        var port = Processes.NodeProcess.FreePort();
        await using var worker = await StartAsync(ClusterNodeOptions.WorkerRole, Fast with { JoinTimeout = TimeSpan.FromMilliseconds(500) }, 2, new SeedAddress("127.0.0.1", port));
        var failed = await Subscribe<JoinFailed>(worker).ExpectMsgAsync<JoinFailed>(timeout: Wait);
        Assert.Contains($"127.0.0.1:{port}", failed.Message, StringComparison.Ordinal);
        Assert.Contains("cluster.join-timeout", failed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_node_off_loopback_without_a_secret_is_refused_at_startup_naming_the_key()
    {
        var e = Assert.Throws<ConfigException>(() => ClusterNodeOptions.LoadSecret(ClusterSettings.Default with { Host = "10.1.2.3" }));
        Assert.Contains("cluster.secret", e.Message, StringComparison.Ordinal);
        Assert.Contains("10.1.2.3", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nodes_with_certificates_from_the_cluster_CA_join_over_mutual_TLS()
    {
        using var certificates = new DataPlane.Transport.TestCertificates();
        var ca = certificates.CreateAuthority("cluster-ca");
        ClusterSettings Tls(string name)
        {
            var node = certificates.CreateNode(name, "cluster-ca", ca, addresses: [System.Net.IPAddress.Loopback]);
            return Fast with { TlsCertificate = node.CertificatePath, TlsKey = node.KeyPath, TlsCa = ca };
        }

        await using var leader = await StartAsync(ClusterNodeOptions.CoordinatorRole, Tls("leader"), 1);
        var up = Subscribe<MemberUp>(leader);
        await using var worker = await StartAsync(ClusterNodeOptions.WorkerRole, Tls("worker"), 2, SeedOf(leader));
        await Subscribe<JoinedCluster>(worker).ExpectMsgAsync<JoinedCluster>(timeout: Wait);
        Assert.Equal(2, (await up.ExpectMsgAsync<MemberUp>(timeout: Wait)).Member.Address.Incarnation);
    }

    [Fact]
    public async Task A_missing_certificate_is_a_startup_error_naming_the_file()
    {
        var settings = Fast with { TlsCertificate = "/nonexistent/node.pem", TlsKey = "/nonexistent/node.key" };
        var e = await Assert.ThrowsAsync<RnnCluster.DataPlane.Transport.TlsConfigurationException>(() => StartAsync(ClusterNodeOptions.CoordinatorRole, settings, 1));
        Assert.Contains("/nonexistent/node.pem", e.Message, StringComparison.Ordinal);
    }
}
