using RnnCluster.Tests.Support;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Protocol;
using RnnCluster.DataPlane.Transport;

namespace RnnCluster.Tests.DataPlane.Transport;

/// <summary>Builds loopback nodes and raw peers; every wait is bounded by <see cref="WaitLimit"/>.</summary>
internal static class TransportFixture
{
    /// <summary>Generous: a loaded 2-core machine may be slow, but a correct test never waits this long.</summary>
    public static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(30);

    public static readonly ClusterSecret Secret = ClusterSecret.FromBytes(Encoding.UTF8.GetBytes("the-test-cluster-secret-0123456789"), "test");

    public static RemoteTransportOptions Options(Func<RemoteTransportOptions, RemoteTransportOptions>? adjust = null)
    {
        var options = new RemoteTransportOptions
        {
            Host = "127.0.0.1",
            Port = 0,
            HeartbeatInterval = TimeSpan.FromMilliseconds(100),
            ReconnectMinDelay = TimeSpan.FromMilliseconds(20),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(200),
            HandshakeTimeout = TimeSpan.FromSeconds(10),
        };
        return adjust is null ? options : adjust(options);
    }

    public static async Task<(RemoteTransport Node, CapturingLoggerProvider Logs)> StartNodeAsync(
        RemoteTransportOptions? options = null, ulong incarnation = 1, ClusterSecret? secret = null)
    {
        var logs = new CapturingLoggerProvider();
        var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        var node = new RemoteTransport(
            options ?? Options(), secret ?? Secret, TestMessages.Registry, incarnation, loggerFactory, TimeProvider.System, new Random(7), RandomNumberGenerator.Create());
        using var cts = new CancellationTokenSource(WaitLimit);
        await node.StartAsync(cts.Token);
        return (node, logs);
    }

    public static Uri WebSocketUri(RemoteTransport node)
    {
        var address = new Uri(node.LocalIdentity.Address);
        return new Uri($"ws://127.0.0.1:{address.Port}/rnncluster");
    }

    public static int Port(RemoteTransport node) => new Uri(node.LocalIdentity.Address).Port;

    /// <summary>Reads until an item matches; fails after <see cref="WaitLimit"/>.</summary>
    public static async Task<T> ReadUntilAsync<T>(ChannelReader<T> reader, Func<T, bool> match)
    {
        using var cts = new CancellationTokenSource(WaitLimit);
        await foreach (var item in reader.ReadAllAsync(cts.Token))
        {
            if (match(item))
            {
                return item;
            }
        }

        throw new InvalidOperationException("The channel completed before a matching item arrived.");
    }

    public static Task<PeerEvent> ConnectedAsync(RemoteTransport node, string peerAddress, ulong? incarnation = null) =>
        ReadUntilAsync(node.PeerEvents, e => e.Kind == PeerEventKind.Connected
            && e.Peer.Address == peerAddress && (incarnation is null || e.Peer.Incarnation == incarnation));

    /// <summary>Sends until the transport accepts (a connection may still be settling after its event); bounded by <see cref="WaitLimit"/>.</summary>
    public static async Task SendAsync(RemoteTransport from, RemoteTransport to, object message)
    {
        using var cts = new CancellationTokenSource(WaitLimit);
        while (!await from.SendAsync(to.LocalIdentity.Address, message, "/user/a", "/user/b", cancellationToken: cts.Token))
        {
            // No connection yet (or it was just replaced): wake on the next peer event, or retry soon
            // in case that event was already read by the test.
            if (from.PeerEvents.TryRead(out _))
            {
                continue;
            }

            try
            {
                await from.PeerEvents.WaitToReadAsync(cts.Token).AsTask().WaitAsync(TimeSpan.FromMilliseconds(50), cts.Token);
            }
            catch (TimeoutException)
            {
            }
        }
    }

    /// <summary>A raw WebSocket that has passed the handshake as a made-up node, to send frames the transport would never send.</summary>
    public static async Task<ClientWebSocket> ConnectAuthenticatedAsync(RemoteTransport server, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(WebSocketUri(server), cancellationToken);
        var handshake = new HmacHandshake(Secret, new NodeIdentity("rnn://raw@127.0.0.1:1", 9), HandshakeRole.Initiator, RandomNumberGenerator.Create());
        await SendFrameAsync(socket, new Frame { Handshake = handshake.CreateHandshake() }, cancellationToken);
        var opening = await ReceiveFrameAsync(socket, cancellationToken);
        await SendFrameAsync(socket, new Frame { HandshakeReply = handshake.ReceiveHandshake(opening.Handshake) }, cancellationToken);
        var proof = await ReceiveFrameAsync(socket, cancellationToken);
        handshake.VerifyReply(proof.HandshakeReply);
        return socket;
    }

    public static Task SendFrameAsync(WebSocket socket, Frame frame, CancellationToken cancellationToken) =>
        socket.SendAsync(frame.ToByteArray(), WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);

    public static async Task<Frame> ReceiveFrameAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        var length = 0;
        ValueWebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken);
            length += result.Count;
        }
        while (!result.EndOfMessage);
        Assert.Equal(WebSocketMessageType.Binary, result.MessageType);
        return Frame.Parser.ParseFrom(buffer, 0, length);
    }

    /// <summary>Reads (discarding heartbeats and anything else) until the server closes; returns its close status.</summary>
    public static async Task<WebSocketCloseStatus?> ReadUntilClosedAsync(ClientWebSocket socket)
    {
        using var cts = new CancellationTokenSource(WaitLimit);
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer.AsMemory(), cts.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return socket.CloseStatus;
                }
            }
        }
        catch (WebSocketException)
        {
            // Dropped without a close message: also a disconnect.
            return null;
        }
    }
}
