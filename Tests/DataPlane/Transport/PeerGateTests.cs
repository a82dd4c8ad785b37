using RnnCluster.DataPlane.Transport;
using static RnnCluster.Tests.DataPlane.Transport.TransportFixture;

namespace RnnCluster.Tests.DataPlane.Transport;

/// <summary>The peer gate and <see cref="RemoteTransport.Disconnect"/>, the two ways the cluster layer ends a peer's connection.</summary>
[Collection(nameof(RemoteTransportTests))]
public sealed class PeerGateTests
{
    private const int PeerDisconnected = 4005;
    private const int DialFailed = 4007;
    private const int PeerRefused = 4016;
    private const int PeerGateFailed = 4017;
    private const int Disconnecting = 4018;

    [Fact]
    public async Task A_gate_set_after_start_refuses_a_downed_incarnation_and_both_sides_log_the_reason()
    {
        var (server, serverLogs) = await StartNodeAsync();
        await using var _s = server;
        server.SetPeerGate(peer => peer.Incarnation == 2 ? "incarnation 2 was downed" : null);
        var (downed, downedLogs) = await StartNodeAsync(incarnation: 2);
        await using var _d = downed;

        downed.Connect(server.LocalIdentity.Address);

        await serverLogs.WaitForAsync(PeerRefused, "incarnation 2 was downed", timeout: WaitLimit);
        await downedLogs.WaitForAsync(PeerDisconnected, "refused by the peer: incarnation 2 was downed", timeout: WaitLimit);
        var closed = await ReadUntilAsync(downed.PeerEvents, e => e.Kind == PeerEventKind.Disconnected);
        Assert.Equal("refused by the peer: incarnation 2 was downed", closed.Reason);

        // The refused dialer backs off instead of redialling at once.
        await downedLogs.WaitForAsync(DialFailed, "refused by the peer", timeout: WaitLimit);
        Assert.DoesNotContain(server.ConnectedPeers, p => p.Incarnation == 2);
        Assert.False(server.PeerEvents.TryPeek(out _));
    }

    [Fact]
    public async Task A_gate_lifted_lets_the_peer_back_in_on_its_next_dial()
    {
        var (server, serverLogs) = await StartNodeAsync(Options(o => o with { PeerGate = _ => "not yet" }));
        await using var _s = server;
        var (peer, _) = await StartNodeAsync(incarnation: 2);
        await using var _p = peer;

        peer.Connect(server.LocalIdentity.Address);
        await serverLogs.WaitForAsync(PeerRefused, "not yet", timeout: WaitLimit);
        server.SetPeerGate(null);

        // Wait for the admitted connection: a message sent on a refused one is lost with it.
        await ConnectedAsync(server, peer.LocalIdentity.Address);
        await SendAsync(peer, server, new Note("let in"));
        Assert.Equal(new Note("let in"), (await ReadUntilAsync(server.Messages, _ => true)).Message);
    }

    [Fact]
    public async Task A_dialer_gate_refuses_the_node_it_dialled()
    {
        var (a, aLogs) = await StartNodeAsync();
        await using var _a = a;
        var (b, bLogs) = await StartNodeAsync(incarnation: 2);
        await using var _b = b;
        a.SetPeerGate(peer => $"{peer} is not wanted");

        a.Connect(b.LocalIdentity.Address);

        await aLogs.WaitForAsync(PeerRefused, "(outbound) after its handshake", timeout: WaitLimit);
        await aLogs.WaitForAsync(DialFailed, "refused by the peer gate", timeout: WaitLimit);
        await bLogs.WaitForAsync(PeerDisconnected, $"refused by the peer: {b.LocalIdentity} is not wanted", timeout: WaitLimit);
        Assert.Empty(a.ConnectedPeers);
    }

    [Fact]
    public async Task A_gate_that_throws_refuses_the_peer_and_logs_the_error()
    {
        var (server, serverLogs) = await StartNodeAsync();
        await using var _s = server;
        server.SetPeerGate(_ => throw new InvalidOperationException("membership not ready"));
        var (peer, peerLogs) = await StartNodeAsync(incarnation: 2);
        await using var _p = peer;

        peer.Connect(server.LocalIdentity.Address);

        await serverLogs.WaitForAsync(PeerGateFailed, "", timeout: WaitLimit);
        await peerLogs.WaitForAsync(PeerDisconnected, "the peer gate failed (InvalidOperationException)", timeout: WaitLimit);
        Assert.Contains(serverLogs.Entries, e => e.EventId.Id == PeerGateFailed && e.Exception?.Message == "membership not ready");
    }

    [Fact]
    public async Task Disconnect_closes_the_connection_with_a_reason_both_sides_see_and_the_dialer_comes_back()
    {
        var (a, _) = await StartNodeAsync();
        await using var _a = a;
        var (b, bLogs) = await StartNodeAsync(incarnation: 2);
        await using var _b = b;
        a.Connect(b.LocalIdentity.Address);
        await ConnectedAsync(b, a.LocalIdentity.Address);
        await ConnectedAsync(a, b.LocalIdentity.Address);

        Assert.True(b.Disconnect(a.LocalIdentity.Address, "suspected of being unreachable"));

        await bLogs.WaitForAsync(Disconnecting, "suspected of being unreachable", timeout: WaitLimit);
        var atB = await ReadUntilAsync(b.PeerEvents, e => e.Kind == PeerEventKind.Disconnected);
        var atA = await ReadUntilAsync(a.PeerEvents, e => e.Kind == PeerEventKind.Disconnected);
        Assert.Equal("suspected of being unreachable", atB.Reason);
        Assert.Equal("disconnected by the peer: suspected of being unreachable", atA.Reason);

        // Not a ban: the dialer reconnects after its back-off.
        await ConnectedAsync(a, b.LocalIdentity.Address);
        await SendAsync(a, b, new Note("back again"));
        Assert.Equal(new Note("back again"), (await ReadUntilAsync(b.Messages, _ => true)).Message);
    }

    [Theory]
    [InlineData("run finished: training finished")]
    [InlineData(null)]
    public async Task A_node_stopping_closes_its_connections_after_what_it_queued_with_its_farewell_if_any(string? farewell)
    {
        var (a, _) = await StartNodeAsync();
        await using var _a = a;
        var (b, _) = await StartNodeAsync(incarnation: 2);
        a.Connect(b.LocalIdentity.Address);
        await ConnectedAsync(b, a.LocalIdentity.Address);

        await SendAsync(b, a, new Note("last words"));
        b.Farewell = farewell;
        await b.DisposeAsync();

        Assert.Equal(new Note("last words"), (await ReadUntilAsync(a.Messages, _ => true)).Message);
        var closed = await ReadUntilAsync(a.PeerEvents, e => e.Kind == PeerEventKind.Disconnected);
        Assert.Equal(farewell, closed.Farewell);
        if (farewell is not null)
        {
            Assert.Equal($"the peer is going away: {farewell}", closed.Reason);
        }
    }

    [Fact]
    public async Task A_long_non_ASCII_reason_reaches_the_peer_cut_to_the_close_message_limit()
    {
        var (a, _) = await StartNodeAsync();
        await using var _a = a;
        var (b, _) = await StartNodeAsync(incarnation: 2);
        await using var _b = b;
        a.Connect(b.LocalIdentity.Address);
        await ConnectedAsync(b, a.LocalIdentity.Address);
        var reason = string.Concat(Enumerable.Repeat("Knoten außer Betrieb 🚧 ", 10));

        Assert.True(b.Disconnect(a.LocalIdentity.Address, reason));

        var atA = await ReadUntilAsync(a.PeerEvents, e => e.Kind == PeerEventKind.Disconnected);
        var received = atA.Reason!["disconnected by the peer: ".Length..];
        Assert.StartsWith("Knoten außer Betrieb 🚧 Knoten", received, StringComparison.Ordinal);
        Assert.StartsWith(received, reason, StringComparison.Ordinal);
        Assert.InRange(System.Text.Encoding.UTF8.GetByteCount(received), 100, 123);
    }

    [Fact]
    public async Task Disconnect_without_a_connection_to_that_address_returns_false()
    {
        var (node, _) = await StartNodeAsync();
        await using var _n = node;

        Assert.False(node.Disconnect("rnn://rnncluster@127.0.0.1:1", "no reason"));
    }
}
