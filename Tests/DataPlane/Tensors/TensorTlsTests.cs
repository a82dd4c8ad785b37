using System.Net.WebSockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using RnnCluster.DataPlane.Tensors;
using RnnCluster.DataPlane.Transport;
using static RnnCluster.Tests.DataPlane.Tensors.TensorFixture;

namespace RnnCluster.Tests.DataPlane.Tensors;

/// <summary>
/// TLS on the tensor data plane, between real loopback transports with a CA and node certificates
/// the test makes: who may connect, what each side logs when it refuses, and which TLS files stop a
/// node from starting at all.
/// </summary>
[Collection(TensorFixture.Collection)]
public sealed class TensorTlsTests : IDisposable
{
    private const int TlsEnabled = 4311;
    private const int InboundCertificateRefused = 4014;
    private const int OutboundCertificateRefused = 4015;

    private readonly TestCertificates _pki = new();
    private readonly string _clusterCa;

    public TensorTlsTests()
    {
        _clusterCa = _pki.CreateAuthority("cluster");
    }

    public static TheoryData<string> BadFiles => new() { "unreadable key", "missing certificate", "key of another certificate", "certificate file without a certificate", "CA file without a certificate", "certificate of another CA", "expired certificate" };

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task Tensors_travel_both_ways_between_nodes_of_the_cluster_CA_and_the_listener_says_so()
    {
        var (a, aLogs) = await StartAsync("a", o => o with { Tls = _pki.CreateNode("a", "cluster", _clusterCa) });
        await using var _a = a;
        var (b, _) = await StartAsync("b", o => o with { Tls = _pki.CreateNode("b", "cluster", _clusterCa) });
        await using var _b = b;

        var (ab, ba) = await ConnectAsync(a, b);
        await ab.SendAsync(Header(step: 1), Floats(1_000_003, seed: 3));
        await ba.SendAsync(Header(step: 2), Floats(17, seed: 4));

        using (var atB = await ReceiveAsync(ba))
        {
            AssertBitExact(Floats(1_000_003, seed: 3), atB.Payload.Span);
        }

        using (var atA = await ReceiveAsync(ab))
        {
            AssertBitExact(Floats(17, seed: 4), atA.Payload.Span);
        }

        await aLogs.WaitForAsync(Listening, "https://", timeout: WaitLimit);
        await aLogs.WaitForAsync(TlsEnabled, $"the CA in '{_clusterCa}' only", timeout: WaitLimit);
    }

    [Fact]
    public async Task A_dialer_with_a_certificate_of_another_CA_is_refused_by_the_listener_which_logs_why_and_serves_on()
    {
        var (server, serverLogs) = await StartAsync("server", o => o with { Tls = _pki.CreateNode("server", "cluster", _clusterCa) });
        await using var _s = server;

        // The intruder trusts the cluster CA as well, so only the listener's check of its certificate can stop it.
        var foreignCa = _pki.CreateAuthority("foreign");
        var bothCas = Path.Combine(_pki.Directory, "both.ca.pem");
        File.WriteAllLines(bothCas, [File.ReadAllText(foreignCa), File.ReadAllText(_clusterCa)]);
        var (intruder, _) = await StartAsync("intruder", o => o with { Tls = _pki.CreateNode("intruder", "foreign", bothCas) });
        await using (intruder)
        {
            await Assert.ThrowsAsync<TensorConnectionException>(() => intruder.ConnectAsync(server.LocalEndPoint));
            await serverLogs.WaitForAsync(InboundCertificateRefused, "CN=intruder", timeout: WaitLimit);
            Assert.Empty(server.Connections);
        }

        var (good, _) = await StartAsync("good", o => o with { Tls = _pki.CreateNode("good", "cluster", _clusterCa) });
        await using var _g = good;
        var (toServer, atServer) = await ConnectAsync(good, server);
        await AssertTransfersAsync(toServer, atServer, step: 1);
    }

    [Fact]
    public async Task A_dialer_refuses_a_listener_whose_certificate_comes_from_another_CA_and_logs_why()
    {
        var (dialer, dialerLogs) = await StartAsync("dialer", o => o with { Tls = _pki.CreateNode("dialer", "cluster", _clusterCa) });
        await using var _d = dialer;
        var foreignCa = _pki.CreateAuthority("foreign");
        var (impostor, _) = await StartAsync("impostor", o => o with { Tls = _pki.CreateNode("impostor", "foreign", foreignCa) });
        await using var _i = impostor;

        var refused = await Assert.ThrowsAsync<TensorConnectionException>(() => dialer.ConnectAsync(impostor.LocalEndPoint));

        Assert.Equal(ConnectionEndReason.HandshakeRefused, refused.End.Reason);
        await dialerLogs.WaitForAsync(OutboundCertificateRefused, "does not chain to the configured CA", timeout: WaitLimit);
        Assert.Empty(dialer.Connections);
        Assert.Empty(impostor.Connections);
    }

    [Fact]
    public async Task A_plain_WebSocket_cannot_connect_to_a_TLS_listener_nor_can_a_node_without_TLS()
    {
        var (server, _) = await StartAsync("server", o => o with { Tls = _pki.CreateNode("server", "cluster", _clusterCa) });
        await using var _s = server;
        using (var raw = new ClientWebSocket())
        using (var cts = new CancellationTokenSource(WaitLimit))
        {
            var plainUri = new Uri($"ws://127.0.0.1:{server.LocalEndPoint.Port}/rnncluster/tensors");
            await Assert.ThrowsAsync<WebSocketException>(() => raw.ConnectAsync(plainUri, cts.Token));
        }

        var (plain, _) = await StartAsync("plain");
        await using var _p = plain;
        await Assert.ThrowsAsync<TensorConnectionException>(() => plain.ConnectAsync(server.LocalEndPoint));
        Assert.Empty(server.Connections);
    }

    [Fact]
    public async Task With_a_CA_a_certificate_that_does_not_name_the_dialled_address_is_accepted()
    {
        // Dialled as 127.0.0.1 while the certificates name only a DNS name: the chain to the cluster CA is what counts.
        string[] names = ["node.cluster.invalid"];
        var (a, _) = await StartAsync("a", o => o with { Tls = _pki.CreateNode("a", "cluster", _clusterCa, names, addresses: []) });
        await using var _a = a;
        var (b, _) = await StartAsync("b", o => o with { Tls = _pki.CreateNode("b", "cluster", _clusterCa, names, addresses: []) });
        await using var _b = b;

        var (ab, ba) = await ConnectAsync(a, b);

        await AssertTransfersAsync(ab, ba, step: 1);
    }

    [Fact]
    public async Task Without_a_CA_a_dialer_trusts_only_the_system_store_so_a_private_CA_certificate_is_refused()
    {
        var (server, _) = await StartAsync("server", o => o with { Tls = _pki.CreateNode("server", "cluster", caPath: null) });
        await using var _s = server;
        var (dialer, dialerLogs) = await StartAsync("dialer", o => o with { Tls = _pki.CreateNode("dialer", "cluster", caPath: null) });
        await using var _d = dialer;

        await Assert.ThrowsAsync<TensorConnectionException>(() => dialer.ConnectAsync(server.LocalEndPoint));

        await dialerLogs.WaitForAsync(OutboundCertificateRefused, "RemoteCertificateChainErrors against the system trust store", timeout: WaitLimit);
        Assert.Empty(dialer.Connections);
    }

    [Theory]
    [MemberData(nameof(BadFiles))]
    public async Task A_bad_TLS_file_is_a_startup_error_naming_it(string problem)
    {
        var node = _pki.CreateNode("node", "cluster", _clusterCa);
        var missing = Path.Combine(_pki.Directory, "absent.pem");
        (TransportTls Tls, string File, string Expected) bad = problem switch
        {
            // A directory cannot be read as a file, also when the tests run as root.
            "unreadable key" => (node with { KeyPath = _pki.Directory }, _pki.Directory, $"key file '{_pki.Directory}' cannot be read"),
            "missing certificate" => (node with { CertificatePath = missing }, missing, $"certificate file '{missing}' cannot be read"),
            "key of another certificate" => WithKeyOf(node, _pki.CreateNode("other", "cluster", _clusterCa)),
            "certificate file without a certificate" => (node with { CertificatePath = node.KeyPath }, node.KeyPath, "holds no valid PEM certificate"),
            "CA file without a certificate" => (node with { CaPath = node.KeyPath }, node.KeyPath, "holds no PEM certificate"),
            "certificate of another CA" => OfAnotherCa(),
            "expired certificate" => Named(_pki.CreateNode("expired", "cluster", _clusterCa, validFor: TimeSpan.FromHours(-1)), "not now"),
            _ => throw new ArgumentOutOfRangeException(nameof(problem), problem, null),
        };

        var transport = new TensorTransport(Options("node", o => o with { Tls = bad.Tls }), Secret, NullLoggerFactory.Instance, TimeProvider.System, RandomNumberGenerator.Create());
        await using (transport)
        {
            var error = await Assert.ThrowsAsync<TlsConfigurationException>(() => transport.StartAsync(CancellationToken.None));
            Assert.Equal(bad.File, error.Path);
            Assert.Contains(bad.Expected, error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Empty_TLS_paths_are_refused_when_the_options_are_validated()
    {
        var options = Options("node", o => o with { Tls = new TransportTls { CertificatePath = "node.pem", KeyPath = " " } });

        var error = Assert.Throws<ArgumentException>(() => options.Validate());

        Assert.Contains("Tls.KeyPath", error.Message, StringComparison.Ordinal);
    }

    private static (TransportTls, string, string) WithKeyOf(TransportTls node, TransportTls other) =>
        (node with { KeyPath = other.KeyPath }, other.KeyPath, "matching the certificate");

    private static (TransportTls, string, string) Named(TransportTls tls, string expected) => (tls, tls.CertificatePath, expected);

    /// <summary>A node certificate issued by a foreign CA while the node trusts the cluster's: it would be refused by every peer.</summary>
    private (TransportTls, string, string) OfAnotherCa()
    {
        _pki.CreateAuthority("foreign");
        return Named(_pki.CreateNode("foreigner", "foreign", _clusterCa), $"peers trusting the CA in '{_clusterCa}' would refuse");
    }
}
