using System.Net.WebSockets;
using RnnCluster.DataPlane.Transport;
using static RnnCluster.Tests.DataPlane.Transport.TransportFixture;

namespace RnnCluster.Tests.DataPlane.Transport;

/// <summary>
/// TLS between real loopback nodes, with a CA and node certificates made by the test. In the same
/// collection as <see cref="RemoteTransportTests"/> so the listeners do not compete for the two cores.
/// </summary>
[Collection(nameof(RemoteTransportTests))]
public sealed class TlsTransportTests : IDisposable
{
    private const int Listening = 4000;
    private const int DialFailed = 4007;
    private const int InboundCertificateRefused = 4014;
    private const int OutboundCertificateRefused = 4015;
    private const int TlsEnabled = 4019;

    private readonly TestCertificates _pki = new();
    private readonly string _clusterCa;

    public TlsTransportTests()
    {
        _clusterCa = _pki.CreateAuthority("cluster");
    }

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task Two_nodes_with_certificates_from_the_cluster_CA_exchange_messages_both_ways()
    {
        var (a, aLogs) = await StartNodeAsync(Options(o => o with { Tls = _pki.CreateNode("a", "cluster", _clusterCa) }));
        await using var _a = a;
        var (b, _) = await StartNodeAsync(Options(o => o with { Tls = _pki.CreateNode("b", "cluster", _clusterCa) }), incarnation: 2);
        await using var _b = b;

        a.Connect(b.LocalIdentity.Address);
        await SendAsync(a, b, new Note("a to b over TLS"));
        await SendAsync(b, a, new Note("b to a over TLS"));

        Assert.Equal(new Note("a to b over TLS"), (await ReadUntilAsync(b.Messages, _ => true)).Message);
        Assert.Equal(new Note("b to a over TLS"), (await ReadUntilAsync(a.Messages, _ => true)).Message);
        await aLogs.WaitForAsync(Listening, "https://", timeout: WaitLimit);
        await aLogs.WaitForAsync(TlsEnabled, _clusterCa, timeout: WaitLimit);
    }

    [Fact]
    public async Task A_dialer_with_a_certificate_from_another_CA_is_refused_by_the_listener_which_logs_why()
    {
        var (server, serverLogs) = await StartNodeAsync(Options(o => o with { Tls = _pki.CreateNode("server", "cluster", _clusterCa) }));
        await using var _s = server;
        var foreignCa = _pki.CreateAuthority("foreign");

        // The intruder trusts the cluster CA too, so only the listener's check can stop it.
        var bothCas = Path.Combine(_pki.Directory, "both.ca.pem");
        File.WriteAllLines(bothCas, [File.ReadAllText(foreignCa), File.ReadAllText(_clusterCa)]);
        var (intruder, intruderLogs) = await StartNodeAsync(
            Options(o => o with { Tls = _pki.CreateNode("intruder", "foreign", bothCas) }), incarnation: 2);
        await using (intruder)
        {
            intruder.Connect(server.LocalIdentity.Address);
            await serverLogs.WaitForAsync(InboundCertificateRefused, "CN=intruder", timeout: WaitLimit);
            await intruderLogs.WaitForAsync(DialFailed, server.LocalIdentity.Address, timeout: WaitLimit);
            Assert.Empty(server.ConnectedPeers);
            Assert.Empty(intruder.ConnectedPeers);
        }

        var (good, _) = await StartNodeAsync(Options(o => o with { Tls = _pki.CreateNode("good", "cluster", _clusterCa) }), incarnation: 3);
        await using var _g = good;
        good.Connect(server.LocalIdentity.Address);
        await SendAsync(good, server, new Note("still serving"));
        Assert.Equal(new Note("still serving"), (await ReadUntilAsync(server.Messages, _ => true)).Message);
    }

    [Fact]
    public async Task A_dialer_refuses_a_listener_whose_certificate_comes_from_another_CA_and_logs_why()
    {
        var foreignCa = _pki.CreateAuthority("foreign");
        var (impostor, _) = await StartNodeAsync(Options(o => o with { Tls = _pki.CreateNode("impostor", "foreign", foreignCa) }));
        await using var _i = impostor;
        var (dialer, dialerLogs) = await StartNodeAsync(Options(o => o with { Tls = _pki.CreateNode("dialer", "cluster", _clusterCa) }), incarnation: 2);
        await using var _d = dialer;

        dialer.Connect(impostor.LocalIdentity.Address);

        await dialerLogs.WaitForAsync(OutboundCertificateRefused, "does not chain to the configured CA", timeout: WaitLimit);
        await dialerLogs.WaitForAsync(DialFailed, impostor.LocalIdentity.Address, timeout: WaitLimit);
        Assert.Empty(dialer.ConnectedPeers);
        Assert.Empty(impostor.ConnectedPeers);
    }

    [Fact]
    public async Task A_plain_WebSocket_cannot_connect_to_a_TLS_listener_nor_can_a_node_without_TLS()
    {
        var (server, _) = await StartNodeAsync(Options(o => o with { Tls = _pki.CreateNode("server", "cluster", _clusterCa) }));
        await using var _s = server;
        using var cts = new CancellationTokenSource(WaitLimit);
        using (var raw = new ClientWebSocket())
        {
            await Assert.ThrowsAsync<WebSocketException>(() => raw.ConnectAsync(WebSocketUri(server), cts.Token));
        }

        var (plain, plainLogs) = await StartNodeAsync(incarnation: 2);
        await using var _p = plain;
        plain.Connect(server.LocalIdentity.Address);
        await plainLogs.WaitForAsync(DialFailed, server.LocalIdentity.Address, timeout: WaitLimit);
        Assert.Empty(server.ConnectedPeers);
    }

    [Fact]
    public async Task With_a_CA_a_certificate_that_does_not_name_the_dialled_address_is_accepted()
    {
        // Dialled as 127.0.0.1, but the certificates name only a DNS name: the chain to the cluster CA is what counts.
        string[] names = ["node.cluster.invalid"];
        var (a, _) = await StartNodeAsync(Options(o => o with { Tls = _pki.CreateNode("a", "cluster", _clusterCa, names, addresses: []) }));
        await using var _a = a;
        var (b, _) = await StartNodeAsync(Options(o => o with { Tls = _pki.CreateNode("b", "cluster", _clusterCa, names, addresses: []) }), incarnation: 2);
        await using var _b = b;

        a.Connect(b.LocalIdentity.Address);
        await SendAsync(a, b, new Note("names do not matter"));

        Assert.Equal(new Note("names do not matter"), (await ReadUntilAsync(b.Messages, _ => true)).Message);
    }

    [Fact]
    public async Task Without_a_CA_a_dialer_trusts_only_the_system_store_so_a_private_CA_certificate_is_refused()
    {
        var (server, _) = await StartNodeAsync(Options(o => o with { Tls = _pki.CreateNode("server", "cluster", caPath: null) }));
        await using var _s = server;
        var (dialer, dialerLogs) = await StartNodeAsync(Options(o => o with { Tls = _pki.CreateNode("dialer", "cluster", caPath: null) }), incarnation: 2);
        await using var _d = dialer;

        dialer.Connect(server.LocalIdentity.Address);

        await dialerLogs.WaitForAsync(OutboundCertificateRefused, "RemoteCertificateChainErrors against the system trust store", timeout: WaitLimit);
        Assert.Empty(dialer.ConnectedPeers);
    }

    [Fact]
    public async Task An_unreadable_key_file_is_a_startup_error_naming_it()
    {
        // A directory cannot be read as a file, also when the tests run as root.
        var tls = _pki.CreateNode("node", "cluster", _clusterCa) with { KeyPath = _pki.Directory };

        var error = await StartFailsAsync(tls);

        Assert.Equal(_pki.Directory, error.Path);
        Assert.Contains($"key file '{_pki.Directory}' cannot be read", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_certificate_file_is_a_startup_error_naming_it()
    {
        var missing = Path.Combine(_pki.Directory, "absent.pem");
        var tls = _pki.CreateNode("node", "cluster", _clusterCa) with { CertificatePath = missing };

        var error = await StartFailsAsync(tls);

        Assert.Equal(missing, error.Path);
        Assert.Contains($"certificate file '{missing}' cannot be read", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_that_does_not_match_the_certificate_is_a_startup_error_naming_the_key_file()
    {
        var node = _pki.CreateNode("node", "cluster", _clusterCa);
        var other = _pki.CreateNode("other", "cluster", _clusterCa);

        var error = await StartFailsAsync(node with { KeyPath = other.KeyPath });

        Assert.Equal(other.KeyPath, error.Path);
        Assert.Contains("matching the certificate", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_certificate_file_without_a_certificate_is_a_startup_error_naming_it()
    {
        var node = _pki.CreateNode("node", "cluster", _clusterCa);

        // The key file holds PEM, but not a certificate.
        var error = await StartFailsAsync(node with { CertificatePath = node.KeyPath });

        Assert.Equal(node.KeyPath, error.Path);
        Assert.Contains("holds no valid PEM certificate", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_CA_file_without_a_certificate_is_a_startup_error_naming_it()
    {
        var node = _pki.CreateNode("node", "cluster", _clusterCa);

        var error = await StartFailsAsync(node with { CaPath = node.KeyPath });

        Assert.Equal(node.KeyPath, error.Path);
        Assert.Contains("holds no PEM certificate", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_certificate_that_does_not_chain_to_the_configured_CA_is_a_startup_error_naming_both_files()
    {
        _pki.CreateAuthority("foreign");
        var node = _pki.CreateNode("node", "foreign", _clusterCa);

        var error = await StartFailsAsync(node);

        Assert.Equal(node.CertificatePath, error.Path);
        Assert.Contains($"peers trusting the CA in '{_clusterCa}' would refuse", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_expired_certificate_is_a_startup_error_naming_it()
    {
        var node = _pki.CreateNode("node", "cluster", _clusterCa, validFor: TimeSpan.FromHours(-1));

        var error = await StartFailsAsync(node);

        Assert.Equal(node.CertificatePath, error.Path);
        Assert.Contains("not now", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_TLS_paths_are_refused_when_the_options_are_validated()
    {
        var options = Options(o => o with { Tls = new TransportTls { CertificatePath = "node.pem", KeyPath = " " } });

        var error = Assert.Throws<ArgumentException>(() => options.Validate());

        Assert.Contains("Tls.KeyPath", error.Message, StringComparison.Ordinal);
    }

    private static async Task<TlsConfigurationException> StartFailsAsync(TransportTls tls)
    {
        var node = new RemoteTransport(
            Options(o => o with { Tls = tls }), Secret, TestMessages.Registry, 1,
            Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, TimeProvider.System, new Random(7),
            System.Security.Cryptography.RandomNumberGenerator.Create());
        await using (node)
        {
            return await Assert.ThrowsAsync<TlsConfigurationException>(() => node.StartAsync(CancellationToken.None));
        }
    }
}
