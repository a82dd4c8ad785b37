using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Tensors;
using static RnnCluster.Tests.DataPlane.Tensors.TensorFixture;

namespace RnnCluster.Tests.DataPlane.Tensors;

/// <summary>Who gets a tensor connection: the cluster secret, the peer gate, the expected identity (TLS: <see cref="TensorTlsTests"/>).</summary>
[Collection(TensorFixture.Collection)]
public sealed class TensorAuthenticationTests
{
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

    /// <summary>A gate that throws refuses too: whatever the caller's membership check does, a peer it cannot vouch for stays out.</summary>
    [Theory]
    [InlineData("refuses", "refused by the peer: not a member of this run")]
    [InlineData("throws", "refused by the peer: the peer gate failed (InvalidOperationException: membership not ready)")]
    public async Task A_peer_the_gate_does_not_admit_is_refused_during_the_handshake_with_the_gates_reason(string gate, string expected)
    {
        Func<NodeIdentity, string?> check = gate == "refuses"
            ? peer => peer.Address.Contains("stranger", StringComparison.Ordinal) ? "not a member of this run" : null
            : peer => peer.Address.Contains("stranger", StringComparison.Ordinal) ? throw new InvalidOperationException("membership not ready") : null;
        var (server, serverLogs) = await StartAsync("server", o => o with { PeerGate = check });
        await using var _s = server;
        var (stranger, _) = await StartAsync("stranger");
        await using var _x = stranger;
        var (member, _) = await StartAsync("member");
        await using var _m = member;

        var refused = await Assert.ThrowsAsync<TensorConnectionException>(() => stranger.ConnectAsync(server.LocalEndPoint));

        Assert.Equal(ConnectionEndReason.HandshakeRefused, refused.End.Reason);
        Assert.Contains(expected, refused.End.Detail, StringComparison.Ordinal);
        await serverLogs.WaitForAsync(PeerRefused, expected["refused by the peer: ".Length..], timeout: WaitLimit);
        var (toServer, atServer) = await ConnectAsync(member, server);
        await AssertTransfersAsync(toServer, atServer, step: 1);
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

    /// <summary>The cluster's gate reads the membership of the moment: a node that joins is let in on its next dial.</summary>
    [Fact]
    public async Task The_gate_is_asked_on_every_dial_so_a_refused_peer_gets_in_once_the_gate_admits_it()
    {
        var admitted = 0;
        var (server, serverLogs) = await StartAsync("server", o => o with { PeerGate = _ => Volatile.Read(ref admitted) == 1 ? null : "not a member yet" });
        await using var _s = server;
        var (peer, _) = await StartAsync("peer");
        await using var _p = peer;

        var refused = await Assert.ThrowsAsync<TensorConnectionException>(() => peer.ConnectAsync(server.LocalEndPoint));
        Assert.Contains("refused by the peer: not a member yet", refused.End.Detail, StringComparison.Ordinal);
        await serverLogs.WaitForAsync(PeerRefused, "not a member yet", timeout: WaitLimit);
        Volatile.Write(ref admitted, 1);

        var (toServer, atServer) = await ConnectAsync(peer, server);
        await AssertTransfersAsync(toServer, atServer, step: 1);
    }
}
