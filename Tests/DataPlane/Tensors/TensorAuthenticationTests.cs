using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Tensors;
using RnnCluster.Tests.DataPlane.Transport;
using static RnnCluster.Tests.DataPlane.Tensors.TensorFixture;

namespace RnnCluster.Tests.DataPlane.Tensors;

/// <summary>Who gets a tensor connection: the cluster secret, the peer gate, the expected identity, TLS.</summary>
[Collection(nameof(RemoteTransportTests))]
public sealed class TensorAuthenticationTests : IDisposable
{
    private readonly TestCertificates _pki = new();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task A_peer_with_the_wrong_secret_is_refused_and_logged_while_an_authenticated_peer_keeps_transferring()
    {
        var (server, serverLogs) = await StartAsync("server");
        await using var _s = server;
        var (good, _) = await StartAsync("good");
        await using var _g = good;
        var (intruder, intruderLogs) = await StartAsync("intruder", secret: ClusterSecret.FromBytes("another-cluster-secret-987654321"u8, "wrong"));
        await using var _i = intruder;
        var (toServer, atServer) = await ConnectAsync(good, server);

        const int Tensors = 12;
        var receiving = Task.Run(async () =>
        {
            for (var i = 0; i < Tensors; i++)
            {
                using var message = await ReceiveAsync(atServer);
                Assert.Equal(i, message.Header.Step);
                AssertBitExact(Floats(250_000, seed: i), message.Payload.Span);
            }
        });
        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < Tensors; i++)
            {
                await toServer.SendAsync(Header(step: i), Floats(250_000, seed: i));
            }
        });

        var refused = await Assert.ThrowsAsync<TensorConnectionException>(() => intruder.ConnectAsync(server.LocalEndPoint, server.Identity));

        Assert.Equal(ConnectionEndReason.HandshakeRefused, refused.End.Reason);
        Assert.Contains("did not prove knowledge of the cluster secret", refused.Message, StringComparison.Ordinal);
        await serverLogs.WaitForAsync(HandshakeFailed, "did not prove knowledge of the cluster secret", timeout: WaitLimit);
        await intruderLogs.WaitForAsync(ConnectFailed, "HandshakeRefused", timeout: WaitLimit);
        await Task.WhenAll(sending, receiving).WaitAsync(WaitLimit);
        Assert.Null(atServer.End);
        Assert.Same(atServer, Assert.Single(server.Connections));
    }

    [Fact]
    public async Task A_peer_the_gate_does_not_know_is_refused_during_the_handshake_with_the_gates_reason()
    {
        var (server, serverLogs) = await StartAsync("server", o => o with
        {
            PeerGate = peer => peer.Address.Contains("stranger", StringComparison.Ordinal) ? "not a member of this run" : null,
        });
        await using var _s = server;
        var (stranger, _) = await StartAsync("stranger");
        await using var _x = stranger;
        var (member, _) = await StartAsync("member");
        await using var _m = member;

        var refused = await Assert.ThrowsAsync<TensorConnectionException>(() => stranger.ConnectAsync(server.LocalEndPoint));

        Assert.Equal(ConnectionEndReason.HandshakeRefused, refused.End.Reason);
        Assert.Contains("refused by the peer: not a member of this run", refused.End.Detail, StringComparison.Ordinal);
        await serverLogs.WaitForAsync(PeerRefused, "not a member of this run", timeout: WaitLimit);
        var (toServer, atServer) = await ConnectAsync(member, server);
        await toServer.SendAsync(Header(step: 1), Floats(5, seed: 5));
        using var message = await ReceiveAsync(atServer);
        Assert.Equal(member.Identity, message.Peer);
    }

    [Fact]
    public async Task A_node_other_than_the_expected_incarnation_is_refused()
    {
        var (a, _) = await StartAsync("a");
        await using var _a = a;
        var (b, _) = await StartAsync("b");
        await using var _b = b;
        var previousLife = b.Identity with { Incarnation = b.Identity.Incarnation + 1 };

        var refused = await Assert.ThrowsAsync<TensorConnectionException>(() => a.ConnectAsync(b.LocalEndPoint, previousLife));

        Assert.Equal(ConnectionEndReason.HandshakeRefused, refused.End.Reason);
        Assert.Contains($"reached {b.Identity}, expected {previousLife}", refused.End.Detail, StringComparison.Ordinal);
        Assert.Empty(a.Connections);
    }

    [Fact]
    public async Task Tensors_travel_over_TLS_between_nodes_of_the_cluster_CA_and_a_listener_of_another_CA_is_refused()
    {
        var clusterCa = _pki.CreateAuthority("cluster");
        var (a, aLogs) = await StartAsync("a", o => o with { Tls = _pki.CreateNode("a", "cluster", clusterCa) });
        await using var _a = a;
        var (b, _) = await StartAsync("b", o => o with { Tls = _pki.CreateNode("b", "cluster", clusterCa) });
        await using var _b = b;
        var (ab, ba) = await ConnectAsync(a, b);
        await ab.SendAsync(Header(step: 1), Floats(1_000_003, seed: 3));
        using (var message = await ReceiveAsync(ba))
        {
            AssertBitExact(Floats(1_000_003, seed: 3), message.Payload.Span);
        }

        await aLogs.WaitForAsync(Listening, "https://", timeout: WaitLimit);

        // The foreign listener's certificate does not chain to the cluster CA the dialer trusts.
        var foreignCa = _pki.CreateAuthority("foreign");
        var (foreign, _) = await StartAsync("foreign", o => o with { Tls = _pki.CreateNode("foreign", "foreign", foreignCa) });
        await using var _f = foreign;
        var refused = await Assert.ThrowsAsync<TensorConnectionException>(() => a.ConnectAsync(foreign.LocalEndPoint));
        Assert.Equal(ConnectionEndReason.HandshakeRefused, refused.End.Reason);
        await aLogs.WaitForAsync(4015, "does not chain to the configured CA", timeout: WaitLimit);
    }
}
