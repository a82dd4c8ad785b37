using System.Net.Sockets;
using System.Net.WebSockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Protocol;
using RnnCluster.DataPlane.Tensors;
using RnnCluster.Tests.Support;
using TensorHeader = RnnCluster.DataPlane.Tensors.TensorHeader;

namespace RnnCluster.Tests.DataPlane.Tensors;

/// <summary>Loopback tensor transports and raw peers; every wait is bounded by <see cref="WaitLimit"/>.</summary>
internal static class TensorFixture
{
    /// <summary>The test collection of every class that starts listeners, so they do not compete for the two cores.</summary>
    public const string Collection = "loopback tensor transports";

    public const int Listening = 4300;
    public const int ConnectionLimitReached = 4302;
    public const int HandshakeFailed = 4303;
    public const int PeerRefused = 4304;
    public const int Ended = 4306;
    public const int FrameRefused = 4307;
    public const int Stalled = 4308;
    public const int ConnectFailed = 4309;

    /// <summary>Generous: a loaded 2-core machine may be slow, but a correct test never waits this long.</summary>
    public static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(30);

    public static readonly ClusterSecret Secret = ClusterSecret.FromBytes(Encoding.UTF8.GetBytes("the-test-cluster-secret-0123456789"), "test");

    public static NodeIdentity Identity(string name, ulong incarnation = 1) => new($"rnn://{name}@127.0.0.1", incarnation);

    public static TensorTransportOptions Options(string name, Func<TensorTransportOptions, TensorTransportOptions>? adjust = null, ulong incarnation = 1)
    {
        var options = new TensorTransportOptions { Identity = Identity(name, incarnation), Host = "127.0.0.1", Port = 0 };
        return adjust is null ? options : adjust(options);
    }

    public static async Task<(TensorTransport Node, CapturingLoggerProvider Logs)> StartAsync(
        string name, Func<TensorTransportOptions, TensorTransportOptions>? adjust = null, ClusterSecret? secret = null)
    {
        var logs = new CapturingLoggerProvider();
        var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        var node = new TensorTransport(Options(name, adjust), secret ?? Secret, loggerFactory, TimeProvider.System, RandomNumberGenerator.Create());
        using var cts = new CancellationTokenSource(WaitLimit);
        await node.StartAsync(cts.Token);
        return (node, logs);
    }

    /// <summary>Connects <paramref name="from"/> to <paramref name="to"/>; returns both ends.</summary>
    public static async Task<(TensorConnection Dialled, TensorConnection Accepted)> ConnectAsync(TensorTransport from, TensorTransport to)
    {
        using var cts = new CancellationTokenSource(WaitLimit);
        var accepting = to.AcceptAsync(cts.Token).AsTask();
        var dialled = await from.ConnectAsync(to.LocalEndPoint, to.Identity, cts.Token);
        var accepted = await accepting;
        Assert.Equal(to.Identity, dialled.Peer);
        Assert.Equal(from.Identity, accepted.Peer);
        return (dialled, accepted);
    }

    public static async Task<TensorMessage> ReceiveAsync(TensorConnection connection)
    {
        using var cts = new CancellationTokenSource(WaitLimit);
        return await connection.ReceiveAsync(cts.Token);
    }

    public static Task<ConnectionEnd> EndedAsync(TensorConnection connection) => connection.Completion.WaitAsync(WaitLimit);

    /// <summary>Sends one tensor for <paramref name="step"/> and checks that it arrives whole: the connection still works.</summary>
    public static async Task AssertTransfersAsync(TensorConnection from, TensorConnection to, long step)
    {
        var payload = Floats(10_000, seed: (int)step);
        await from.SendAsync(Header(step), payload);
        using var message = await ReceiveAsync(to);
        Assert.Equal(step, message.Header.Step);
        Assert.Equal(from.Local, message.Peer);
        AssertBitExact(payload, message.Payload.Span);
    }

    public static TensorHeader Header(long step, TensorKind kind = TensorKind.Gradients) =>
        new() { Kind = kind, RunId = "run-7", Generation = 3, Step = step, Attempt = 1, WorkerIndex = 2, Incarnation = 42 };

    /// <summary>Random floats with the values a careless copy would change: NaNs with payload bits, -0, infinities, subnormals.</summary>
    public static float[] Floats(int count, int seed)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)((random.NextDouble() - 0.5) * 1e3);
        }

        float[] special = [BitConverter.Int32BitsToSingle(0x7FC0_1234), BitConverter.Int32BitsToSingle(unchecked((int)0xFF80_0001)), -0f, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, float.MaxValue];
        for (var i = 0; i < special.Length && i < values.Length; i++)
        {
            values[(int)((long)i * values.Length / special.Length)] = special[i];
        }

        return values;
    }

    /// <summary>Compares bit patterns, so NaN payloads and the sign of zero count.</summary>
    public static void AssertBitExact(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var e = MemoryMarshal.AsBytes(expected);
        var a = MemoryMarshal.AsBytes(actual);
        if (!e.SequenceEqual(a))
        {
            var at = e.CommonPrefixLength(a) / sizeof(float);
            Assert.Fail($"float {at} differs: expected bits {BitConverter.SingleToInt32Bits(expected[at]):X8}, got {BitConverter.SingleToInt32Bits(actual[at]):X8}");
        }
    }

    /// <summary>The chunk frames a sender would write for a tensor, built from the public wire types.</summary>
    public static IReadOnlyList<Frame> TensorFrames(FrameLimits limits, RnnCluster.DataPlane.Protocol.TensorHeader header, float[] data)
    {
        var tensor = new Frame { Tensor = new Tensor { Header = header, Data = LittleEndianFloats.ToByteString(data) } };
        return new ChunkWriter(limits).Split(tensor.ToByteArray());
    }

    public static RnnCluster.DataPlane.Protocol.TensorHeader WireHeader(long step) => new() { Kind = (uint)TensorKind.Gradients, RunId = "raw", Step = step };
}

/// <summary>
/// A WebSocket to a tensor transport that has (optionally) passed the handshake as a made-up node, to
/// send what a <see cref="TensorConnection"/> never would and to end its TCP connection the way a killed
/// process does. The TCP socket is its own, so it can be reset (linger 0) rather than closed.
/// </summary>
internal sealed class RawPeer : IDisposable
{
    private Socket? _tcp;

    private RawPeer(ClientWebSocket socket, NodeIdentity identity)
    {
        Socket = socket;
        Identity = identity;
    }

    public ClientWebSocket Socket { get; }

    public NodeIdentity Identity { get; }

    public static async Task<RawPeer> ConnectAsync(TensorTransport server, string path = "/rnncluster/tensors", bool authenticate = true, ClusterSecret? secret = null)
    {
        using var cts = new CancellationTokenSource(TensorFixture.WaitLimit);
        var peer = new RawPeer(new ClientWebSocket(), TensorFixture.Identity("raw", 9));
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, token) =>
            {
                var tcp = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await tcp.ConnectAsync(context.DnsEndPoint, token);
                peer._tcp = tcp;
                return new NetworkStream(tcp, ownsSocket: true);
            },
        };
        using var invoker = new HttpMessageInvoker(handler);
        var uri = new Uri($"ws://127.0.0.1:{server.LocalEndPoint.Port}{path}");
        await peer.Socket.ConnectAsync(uri, invoker, cts.Token);
        if (authenticate)
        {
            var handshake = new HmacHandshake(secret ?? TensorFixture.Secret, peer.Identity, HandshakeRole.Initiator, RandomNumberGenerator.Create());
            await peer.SendAsync(new Frame { Handshake = handshake.CreateHandshake() });
            var opening = await peer.ReceiveAsync();
            await peer.SendAsync(new Frame { HandshakeReply = handshake.ReceiveHandshake(opening.Handshake) });
            var proof = await peer.ReceiveAsync();
            handshake.VerifyReply(proof.HandshakeReply);
        }

        return peer;
    }

    /// <summary>A raw peer connected to <paramref name="server"/>, and the connection the server accepted from it.</summary>
    public static async Task<(RawPeer Raw, TensorConnection AtServer)> ConnectAcceptedAsync(TensorTransport server)
    {
        var raw = await ConnectAsync(server);
        using var accepting = new CancellationTokenSource(TensorFixture.WaitLimit);
        return (raw, await server.AcceptAsync(accepting.Token));
    }

    public Task SendAsync(Frame frame) => SendAsync(frame.ToByteArray());

    public async Task SendAsync(byte[] bytes)
    {
        using var cts = new CancellationTokenSource(TensorFixture.WaitLimit);
        await Socket.SendAsync(bytes, WebSocketMessageType.Binary, endOfMessage: true, cts.Token);
    }

    /// <summary>One message in several WebSocket frames, one per part (a part may be empty).</summary>
    public async Task SendFragmentsAsync(params byte[][] parts)
    {
        using var cts = new CancellationTokenSource(TensorFixture.WaitLimit);
        for (var i = 0; i < parts.Length; i++)
        {
            await Socket.SendAsync(parts[i], WebSocketMessageType.Binary, endOfMessage: i == parts.Length - 1, cts.Token);
        }
    }

    /// <summary>The next frame the server sends (during the handshake only: a tensor connection sends chunks).</summary>
    public async Task<Frame> ReceiveAsync() => Frame.Parser.ParseFrom(await ReceiveBytesAsync());

    /// <summary>The next message the server sends, whole however many WebSocket frames carried it, as the bytes that travelled (at most 1 MiB).</summary>
    public async Task<byte[]> ReceiveBytesAsync()
    {
        using var cts = new CancellationTokenSource(TensorFixture.WaitLimit);
        var buffer = new byte[1024 * 1024];
        var length = 0;
        ValueWebSocketReceiveResult result;
        do
        {
            result = await Socket.ReceiveAsync(buffer.AsMemory(length), cts.Token);
            length += result.Count;
        }
        while (!result.EndOfMessage);
        Assert.Equal(WebSocketMessageType.Binary, result.MessageType);
        return buffer[..length];
    }

    /// <summary>Reads (discarding) until the server closes; its close status, or null when it dropped the connection without one.</summary>
    public async Task<WebSocketCloseStatus?> ReadUntilClosedAsync()
    {
        using var cts = new CancellationTokenSource(TensorFixture.WaitLimit);
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var result = await Socket.ReceiveAsync(buffer.AsMemory(), cts.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return Socket.CloseStatus;
                }
            }
        }
        catch (WebSocketException)
        {
            return null;
        }
    }

    /// <summary>Ends the TCP connection with a reset, no close message: what the kernel does for a killed process with unread data.</summary>
    public void Reset()
    {
        var tcp = _tcp ?? throw new InvalidOperationException("Not connected.");
        tcp.LingerState = new LingerOption(enable: true, seconds: 0);
        tcp.Close();
    }

    public void Dispose()
    {
        Socket.Dispose();
        _tcp?.Dispose();
    }
}
