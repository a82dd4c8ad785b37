using System.Net.WebSockets;
using Google.Protobuf;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Protocol;
using RnnCluster.DataPlane.Transport;
using static RnnCluster.Tests.DataPlane.Transport.TransportFixture;

namespace RnnCluster.Tests.DataPlane.Transport;

/// <summary>
/// Real Kestrel listeners and WebSocket dialers on 127.0.0.1 with OS-chosen ports. One collection, so
/// these tests do not compete with each other for the two cores.
/// </summary>
[Collection(nameof(RemoteTransportTests))]
public sealed class RemoteTransportTests
{
    private const int HandshakeFailed = 4003;
    private const int ProtocolViolation = 4006;
    private const int ConnectionLimitReached = 4002;

    [Fact]
    public async Task Two_nodes_exchange_messages_both_ways()
    {
        var (a, _) = await StartNodeAsync();
        await using var _a = a;
        var (b, _) = await StartNodeAsync(incarnation: 2);
        await using var _b = b;

        a.Connect(b.LocalIdentity.Address);
        await ConnectedAsync(a, b.LocalIdentity.Address);
        await ConnectedAsync(b, a.LocalIdentity.Address);

        await SendAsync(a, b, new Note("a to b"));
        await SendAsync(b, a, new Note("b to a"));

        var atB = await ReadUntilAsync(b.Messages, _ => true);
        var atA = await ReadUntilAsync(a.Messages, _ => true);
        Assert.Equal(new Note("a to b"), atB.Message);
        Assert.Equal(a.LocalIdentity, atB.Peer);
        Assert.Equal("/user/a", atB.Sender);
        Assert.Equal("/user/b", atB.Recipient);
        Assert.Equal(new Note("b to a"), atA.Message);
        Assert.Equal(b.LocalIdentity, atA.Peer);
    }

    [Fact]
    public async Task A_10_MiB_payload_arrives_intact_while_heartbeats_keep_flowing()
    {
        // Small frames make the transfer many chunks long, and a fast heartbeat lands between them.
        var options = Options(o => o with
        {
            Limits = FrameLimits.Default with { MaxFrameBytes = 8 * 1024 },
            HeartbeatInterval = TimeSpan.FromMilliseconds(1),
        });
        var (a, _) = await StartNodeAsync(options);
        await using var _a = a;
        var (b, _) = await StartNodeAsync(options, incarnation: 2);
        await using var _b = b;
        a.Connect(b.LocalIdentity.Address);
        await ConnectedAsync(b, a.LocalIdentity.Address);

        using var cts = new CancellationTokenSource(WaitLimit);
        var midTransferHeartbeat = ReadUntilAsync(b.Heartbeats, h => h.Peer == a.LocalIdentity && h.PendingTransferBytes > 0);
        var payload = new byte[10 * 1024 * 1024];
        new Random(42).NextBytes(payload);
        await SendAsync(a, b, new Blob(payload));

        var received = await ReadUntilAsync(b.Messages, _ => true);
        Assert.Equal(payload, Assert.IsType<Blob>(received.Message).Data);
        var heartbeat = await midTransferHeartbeat;
        Assert.InRange(heartbeat.PendingTransferBytes, 1, payload.Length);
    }

    [Fact]
    public async Task A_wrong_secret_is_refused_and_logged_and_the_server_still_serves_a_good_peer()
    {
        var (server, serverLogs) = await StartNodeAsync();
        await using var _s = server;
        var wrongSecret = ClusterSecret.FromBytes("another-cluster-secret-987654321"u8, "wrong");
        var (intruder, intruderLogs) = await StartNodeAsync(incarnation: 2, secret: wrongSecret);
        await using (intruder)
        {
            intruder.Connect(server.LocalIdentity.Address);
            await serverLogs.WaitForAsync(HandshakeFailed, "did not prove knowledge of the cluster secret", timeout: WaitLimit);
            await intruderLogs.WaitForAsync(HandshakeFailed, "", timeout: WaitLimit);
        }

        Assert.Empty(server.ConnectedPeers);
        var (good, _) = await StartNodeAsync(incarnation: 3);
        await using var _g = good;
        good.Connect(server.LocalIdentity.Address);
        await SendAsync(good, server, new Note("hello"));
        Assert.Equal(new Note("hello"), (await ReadUntilAsync(server.Messages, _ => true)).Message);
    }

    [Fact]
    public async Task Random_bytes_over_a_raw_WebSocket_are_disconnected_and_the_server_carries_on()
    {
        var (server, logs) = await StartNodeAsync();
        await using var _s = server;
        using var cts = new CancellationTokenSource(WaitLimit);
        using (var raw = new ClientWebSocket())
        {
            await raw.ConnectAsync(WebSocketUri(server), cts.Token);
            var noise = new byte[300];
            new Random(3).NextBytes(noise);
            await raw.SendAsync(noise, WebSocketMessageType.Binary, endOfMessage: true, cts.Token);
            await ReadUntilClosedAsync(raw);
            await logs.WaitForAsync(HandshakeFailed, "", timeout: WaitLimit);
        }

        await AssertServesAsync(server);
    }

    [Fact]
    public async Task A_frame_over_the_limit_closes_that_connection()
    {
        var options = Options(o => o with { Limits = FrameLimits.Default with { MaxFrameBytes = 4096 } });
        var (server, logs) = await StartNodeAsync(options);
        await using var _s = server;
        using var cts = new CancellationTokenSource(WaitLimit);
        using (var raw = await ConnectAuthenticatedAsync(server, cts.Token))
        {
            await raw.SendAsync(new byte[4097], WebSocketMessageType.Binary, endOfMessage: true, cts.Token);
            Assert.Equal(WebSocketCloseStatus.MessageTooBig, await ReadUntilClosedAsync(raw));
            await logs.WaitForAsync(ProtocolViolation, "MaxFrameBytes", timeout: WaitLimit);
        }

        await AssertServesAsync(server);
    }

    [Fact]
    public async Task A_message_of_an_unknown_type_id_closes_that_connection()
    {
        var (server, logs) = await StartNodeAsync();
        await using var _s = server;
        using var cts = new CancellationTokenSource(WaitLimit);
        using (var raw = await ConnectAuthenticatedAsync(server, cts.Token))
        {
            var unknown = new Message { TypeId = 999, Sender = "/user/x", Recipient = "/user/y", Payload = ByteString.CopyFromUtf8("?") };
            await SendFrameAsync(raw, new Frame { Message = unknown }, cts.Token);
            Assert.Equal(WebSocketCloseStatus.PolicyViolation, await ReadUntilClosedAsync(raw));
            await logs.WaitForAsync(ProtocolViolation, "999", timeout: WaitLimit);
        }

        await AssertServesAsync(server);
    }

    [Fact]
    public async Task Connections_beyond_the_limit_are_refused()
    {
        var options = Options(o => o with { Limits = FrameLimits.Default with { MaxConnections = 1 } });
        var (server, logs) = await StartNodeAsync(options);
        await using var _s = server;
        using var cts = new CancellationTokenSource(WaitLimit);
        using var first = await ConnectAuthenticatedAsync(server, cts.Token);
        using var second = new ClientWebSocket();
        await Assert.ThrowsAsync<WebSocketException>(() => second.ConnectAsync(WebSocketUri(server), cts.Token));
        await logs.WaitForAsync(ConnectionLimitReached, "", timeout: WaitLimit);
        Assert.Equal(WebSocketState.Open, first.State);
    }

    [Fact]
    public async Task After_a_peer_restarts_the_other_side_reconnects_and_messages_flow_again()
    {
        var (a, _) = await StartNodeAsync();
        await using var _a = a;
        var (b, _) = await StartNodeAsync(incarnation: 1);
        var port = Port(b);
        var address = b.LocalIdentity.Address;
        a.Connect(address);
        await SendAsync(a, b, new Note("before"));
        Assert.Equal(new Note("before"), (await ReadUntilAsync(b.Messages, _ => true)).Message);

        await b.DisposeAsync();
        await ReadUntilAsync(a.PeerEvents, e => e.Kind == PeerEventKind.Disconnected && e.Peer.Address == address);

        // Same address, new incarnation: what a restarted process looks like.
        var (restarted, _) = await StartNodeAsync(Options(o => o with { Port = port }), incarnation: 2);
        await using var _r = restarted;
        Assert.Equal(address, restarted.LocalIdentity.Address);
        await ConnectedAsync(a, address, incarnation: 2);

        await SendAsync(a, restarted, new Note("after"));
        await SendAsync(restarted, a, new Note("back"));
        Assert.Equal(new Note("after"), (await ReadUntilAsync(restarted.Messages, _ => true)).Message);
        Assert.Equal(new Note("back"), (await ReadUntilAsync(a.Messages, _ => true)).Message);
    }

    [Fact]
    public async Task When_both_nodes_dial_each_other_one_connection_remains()
    {
        var (a, _) = await StartNodeAsync();
        await using var _a = a;
        var (b, _) = await StartNodeAsync(incarnation: 2);
        await using var _b = b;

        a.Connect(b.LocalIdentity.Address);
        b.Connect(a.LocalIdentity.Address);
        await SendAsync(a, b, new Note("1"));
        await SendAsync(b, a, new Note("2"));
        Assert.Equal(new Note("1"), (await ReadUntilAsync(b.Messages, _ => true)).Message);
        Assert.Equal(new Note("2"), (await ReadUntilAsync(a.Messages, _ => true)).Message);
        // The losing connection closes on its own schedule: wait for the tables to settle, then check them.
        await RnnCluster.Tests.Support.Conditions.AwaitAsync(() => a.ConnectedPeers.Count == 1 && b.ConnectedPeers.Count == 1, WaitLimit, "one connection on each side");
        Assert.Equal([b.LocalIdentity], a.ConnectedPeers);
        Assert.Equal([a.LocalIdentity], b.ConnectedPeers);
    }

    /// <summary>A well-behaved node can still connect and be heard: one bad connection did not take the server down.</summary>
    private static async Task AssertServesAsync(RemoteTransport server)
    {
        var (good, _) = await StartNodeAsync(incarnation: 77);
        await using var _g = good;
        good.Connect(server.LocalIdentity.Address);
        await SendAsync(good, server, new Note("still here"));
        Assert.Equal(new Note("still here"), (await ReadUntilAsync(server.Messages, m => m.Peer == good.LocalIdentity)).Message);
    }
}
