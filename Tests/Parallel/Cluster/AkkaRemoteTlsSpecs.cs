using System.Net.Sockets;
using System.Security.Cryptography;
using Akka.Actor;
using MemberStatus = Akka.Cluster.MemberStatus;
using Microsoft.Extensions.Logging;
using RnnCluster.Config;
using RnnCluster.DataPlane.Transport;
using RnnCluster.Parallel.Cluster;
using RnnCluster.Tests.DataPlane;
using RnnCluster.Tests.Support;
using AkkaCluster = Akka.Cluster.Cluster;

namespace RnnCluster.Tests.Parallel.Cluster;

/// <summary>
/// Akka.Remote over TLS from <c>cluster.tls</c>, between actor systems on loopback, with a CA and node
/// certificates made by the test (<see cref="TestCertificates"/>, as for the data plane). Nodes that
/// must fail to join get a short join timeout: their system terminating is the event that says they
/// gave up, and the TLS node must still be up and alone.
/// </summary>
public sealed class AkkaRemoteTlsSpecs : IDisposable
{
    private const int RemoteTlsEnabled = 2320;
    private const int RemoteCertificateRefused = 2321;

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private readonly TestCertificates _pki = new();
    private readonly string _clusterCa;
    private readonly CapturingLoggerProvider _logs = new();
    private readonly ILoggerFactory _loggerFactory;

    public AkkaRemoteTlsSpecs()
    {
        _clusterCa = _pki.CreateAuthority("cluster");
        _loggerFactory = LoggerFactory.Create(b => b.AddProvider(_logs));
    }

    public void Dispose()
    {
        _loggerFactory.Dispose();
        _pki.Dispose();
    }

    [Fact]
    public async Task Nodes_with_certificates_from_the_cluster_CA_form_a_cluster_over_TLS()
    {
        await using var nodes = new ClusterNodes(loggerFactory: _loggerFactory);
        var coordinator = nodes.StartFirst(configure: Tls("coordinator"));
        var worker = nodes.StartJoining(ClusterSystem.WorkerRole, Tls("worker"));

        await AwaitUpAsync(coordinator, 2);
        Assert.Equal("akka.ssl.tcp", AkkaCluster.Get(coordinator).SelfAddress.Protocol);
        Assert.Equal("akka.ssl.tcp", AkkaCluster.Get(worker).SelfAddress.Protocol);
        await _logs.WaitForAsync(RemoteTlsEnabled, $"the CA in '{_clusterCa}' only", Wait);
        Assert.Equal(0, _logs.Count(RemoteCertificateRefused));
    }

    [Fact]
    public async Task A_plaintext_node_cannot_join_a_TLS_node_which_logs_the_refused_handshake_and_carries_on()
    {
        await using var nodes = new ClusterNodes(loggerFactory: _loggerFactory);
        var coordinator = nodes.StartFirst(configure: Tls("coordinator"));
        await AwaitUpAsync(coordinator, 1);

        var plaintext = nodes.StartJoining(ClusterSystem.WorkerRole, GiveUpSoon);

        await AwaitTerminatedAsync(plaintext);
        await AwaitLogAsync("TLS handshake failed");
        await AssertAloneAndUpAsync(coordinator);
    }

    [Fact]
    public async Task A_TLS_node_cannot_join_a_plaintext_node()
    {
        await using var nodes = new ClusterNodes(loggerFactory: _loggerFactory);
        var plaintext = nodes.StartFirst();
        await AwaitUpAsync(plaintext, 1);

        // Its handshake never completes (the plaintext listener reads the hello as a frame length), so
        // it gives up after its join timeout; a handshake that fails outright shuts it down sooner.
        var tls = nodes.StartJoining(ClusterSystem.WorkerRole, s => GiveUpSoon(Tls("worker")(s)));

        await AwaitTerminatedAsync(tls);
        await AssertAloneAndUpAsync(plaintext);
    }

    [Fact]
    public async Task A_node_whose_certificate_comes_from_another_CA_is_refused_and_logged_while_cluster_nodes_still_join()
    {
        await using var nodes = new ClusterNodes(loggerFactory: _loggerFactory);
        var coordinator = nodes.StartFirst(configure: Tls("coordinator"));
        await AwaitUpAsync(coordinator, 1);
        var foreignCa = _pki.CreateAuthority("foreign");

        // The intruder trusts the cluster CA too, so only the coordinator's check can stop it.
        var bothCas = Path.Combine(_pki.Directory, "both.ca.pem");
        await File.WriteAllLinesAsync(bothCas, [await File.ReadAllTextAsync(foreignCa), await File.ReadAllTextAsync(_clusterCa)]);
        var intruder = nodes.StartJoining(ClusterSystem.WorkerRole, s => GiveUpSoon(WithFiles(s, _pki.CreateNode("intruder", "foreign", bothCas))));

        await _logs.WaitForAsync(RemoteCertificateRefused, "CN=intruder", Wait);
        await AwaitTerminatedAsync(intruder);
        await AssertAloneAndUpAsync(coordinator);

        nodes.StartJoining(ClusterSystem.WorkerRole, Tls("worker"));
        await AwaitUpAsync(coordinator, 2);
    }

    [Fact]
    public async Task Random_bytes_on_a_TLS_node_s_port_end_that_connection_and_the_node_still_admits_cluster_nodes()
    {
        await using var nodes = new ClusterNodes(loggerFactory: _loggerFactory);
        var coordinator = nodes.StartFirst(configure: Tls("coordinator"));
        await AwaitUpAsync(coordinator, 1);
        var address = AkkaCluster.Get(coordinator).SelfAddress;

        using (var stranger = new TcpClient())
        {
            using var limit = new CancellationTokenSource(Wait);
            await stranger.ConnectAsync(address.Host!, address.Port!.Value, limit.Token);
            var stream = stranger.GetStream();
            await stream.WriteAsync(RandomNumberGenerator.GetBytes(4096), limit.Token);
            Assert.Equal(0, await ReadUntilClosedAsync(stream, limit.Token));
        }

        await AwaitLogAsync("TLS handshake failed");
        nodes.StartJoining(ClusterSystem.WorkerRole, Tls("worker"));
        await AwaitUpAsync(coordinator, 2);
    }

    [Fact]
    public void A_missing_certificate_file_stops_the_node_with_an_error_naming_the_key_and_the_file()
    {
        var missing = Path.Combine(_pki.Directory, "missing.pem");
        var settings = WithFiles(ClusterNodes.Settings(), _pki.CreateNode("node", "cluster", _clusterCa)) with { TlsCertificate = missing };

        var error = Assert.Throws<ConfigException>(() => ClusterSystem.Create(settings, ClusterSystem.WorkerRole, _loggerFactory));

        Assert.StartsWith("cluster.tls.certificate: ", error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{missing}' cannot be read", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_file_without_a_matching_key_stops_the_node_with_an_error_naming_the_key_and_the_file()
    {
        var node = _pki.CreateNode("node", "cluster", _clusterCa);
        File.WriteAllText(node.KeyPath, "not a PEM key");

        var error = Assert.Throws<ConfigException>(() => ClusterSystem.Create(WithFiles(ClusterNodes.Settings(), node), ClusterSystem.WorkerRole, _loggerFactory));

        Assert.StartsWith("cluster.tls.key: ", error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{node.KeyPath}' holds no unencrypted PEM private key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_certificate_the_CA_did_not_issue_stops_the_node_with_an_error_naming_the_key_and_both_files()
    {
        _pki.CreateAuthority("foreign");
        var node = _pki.CreateNode("node", "foreign", _clusterCa);

        var error = Assert.Throws<ConfigException>(() => ClusterSystem.Create(WithFiles(ClusterNodes.Settings(), node), ClusterSystem.WorkerRole, _loggerFactory));

        Assert.StartsWith("cluster.tls.certificate: ", error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{node.CertificatePath}'", error.Message, StringComparison.Ordinal);
        Assert.Contains($"the CA in '{_clusterCa}' would refuse", error.Message, StringComparison.Ordinal);
    }

    private static ClusterSettings WithFiles(ClusterSettings settings, TransportTls files) =>
        settings with { TlsCertificate = files.CertificatePath, TlsKey = files.KeyPath, TlsCa = files.CaPath ?? "" };

    /// <summary>A node that stops trying its seeds after 3 s (Akka then terminates its system).</summary>
    private static ClusterSettings GiveUpSoon(ClusterSettings settings) => settings with { JoinTimeout = TimeSpan.FromSeconds(3) };

    private static async Task AwaitUpAsync(ActorSystem system, int members) =>
        await Conditions.AwaitAsync(() => AkkaCluster.Get(system).State.Members.Count(m => m.Status == MemberStatus.Up) == members, Wait, $"{members} members up");

    private static async Task AwaitTerminatedAsync(ActorSystem system) =>
        await system.WhenTerminated.WaitAsync(TestKitSettings.Dilated(Wait));

    private static async Task AssertAloneAndUpAsync(ActorSystem system)
    {
        await AwaitUpAsync(system, 1);
        Assert.Single(AkkaCluster.Get(system).State.Members);
        Assert.False(system.WhenTerminated.IsCompleted);
    }

    /// <summary>Reads and drops what the peer sends until it closes; returns the last read's count (0).</summary>
    private static async Task<int> ReadUntilClosedAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        int read;
        try
        {
            while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
            }
        }
        catch (IOException e) when (e.InnerException is SocketException)
        {
            // A reset is a close too.
            read = 0;
        }

        return read;
    }

    private Func<ClusterSettings, ClusterSettings> Tls(string node) => s => WithFiles(s, _pki.CreateNode(node, "cluster", _clusterCa));

    /// <summary>Akka's own log lines (through our logger factory) carry no event id: matched by text.</summary>
    private async Task AwaitLogAsync(string contains) =>
        await Conditions.AwaitAsync(() => _logs.Entries.Any(e => e.Message.Contains(contains, StringComparison.Ordinal)), Wait, $"a log line containing '{contains}'");
}
