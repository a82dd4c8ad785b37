using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using RnnCluster.Cluster;
using RnnCluster.Config;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Protocol;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Cluster.Processes;

/// <summary>
/// Hostile or broken peers against a coordinator process in the middle of a run: each is
/// disconnected with a logged reason, and training carries on.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class BadPeerTests
{
    private static readonly TimeSpan Patience = LocalCluster.Patience;

    [Fact]
    public async Task Random_bytes_a_wrong_secret_an_oversized_frame_and_an_unknown_type_id_are_disconnected_while_training_continues()
    {
        using var dir = new TempDirectory();
        await using var cluster = new LocalCluster(dir, LocalCluster.TinyRun(100_000, "cluster.min-workers=1", "training.epochs=10000"));
        var (coordinator, workers) = await cluster.StartAsync(1);
        var worker = workers[0];
        await coordinator.WaitForLineAsync("step 3/", Patience);
        var uri = new Uri($"ws://127.0.0.1:{cluster.Port}/rnncluster");
        using var cts = new CancellationTokenSource(Patience);

        using (var random = new ClientWebSocket())
        {
            await random.ConnectAsync(uri, cts.Token);
            await random.SendAsync(RandomNumberGenerator.GetBytes(64), WebSocketMessageType.Binary, endOfMessage: true, cts.Token);
            await ReadUntilClosedAsync(random, cts.Token);
        }

        await coordinator.WaitForLineAsync("failed; connection closed", Patience);

        var wrong = ClusterSecret.FromBytes(Encoding.UTF8.GetBytes("not-the-cluster-secret-at-all-0123"), "test");
        using (var impostor = new ClientWebSocket())
        {
            await impostor.ConnectAsync(uri, cts.Token);
            await Assert.ThrowsAnyAsync<Exception>(() => HandshakeAsync(impostor, wrong, cts.Token));
        }

        await coordinator.WaitForLineAsync(l => l.Contains("failed; connection closed", StringComparison.Ordinal) && coordinator.CountLines("failed; connection closed") >= 2, Patience, "a second refused handshake");

        var secret = ClusterNodeOptions.LoadSecret(ClusterSettings.Default);
        using (var oversized = new ClientWebSocket())
        {
            await oversized.ConnectAsync(uri, cts.Token);
            await HandshakeAsync(oversized, secret, cts.Token);
            await oversized.SendAsync(new byte[2 * 1024 * 1024], WebSocketMessageType.Binary, endOfMessage: true, cts.Token);
            await ReadUntilClosedAsync(oversized, cts.Token);
        }

        await coordinator.WaitForLineAsync("MaxFrameBytes", Patience);

        using (var unknown = new ClientWebSocket())
        {
            await unknown.ConnectAsync(uri, cts.Token);
            await HandshakeAsync(unknown, secret, cts.Token);
            var message = new Message { TypeId = 999, Sender = "", Recipient = "/user/coordinator", Payload = ByteString.CopyFromUtf8("?") };
            await unknown.SendAsync(new Frame { Message = message }.ToByteArray(), WebSocketMessageType.Binary, endOfMessage: true, cts.Token);
            await ReadUntilClosedAsync(unknown, cts.Token);
        }

        await coordinator.WaitForLineAsync(l => l.Contains("broke the protocol", StringComparison.Ordinal) && l.Contains("999", StringComparison.Ordinal), Patience, "the unknown type id refused");

        // Training goes on with its worker.
        var step = LastStep(coordinator.Output);
        await coordinator.WaitForLineAsync(l => l.StartsWith($"step {step + 5}/", StringComparison.Ordinal), Patience, "five more steps");
        Assert.False(worker.HasExited);
        coordinator.Terminate();
        Assert.Equal(130, await coordinator.WaitForExitAsync(Patience));
    }

    private static long LastStep(string output) =>
        output.Split('\n').Where(l => l.StartsWith("step ", StringComparison.Ordinal))
            .Select(l => long.Parse(l[5..l.IndexOf('/', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture))
            .DefaultIfEmpty(0).Max();

    private static async Task HandshakeAsync(ClientWebSocket socket, ClusterSecret secret, CancellationToken cancellationToken)
    {
        var handshake = new HmacHandshake(secret, new NodeIdentity("rnn://raw@127.0.0.1:1", 9), HandshakeRole.Initiator, RandomNumberGenerator.Create());
        await socket.SendAsync(new Frame { Handshake = handshake.CreateHandshake() }.ToByteArray(), WebSocketMessageType.Binary, true, cancellationToken);
        var opening = await ReceiveFrameAsync(socket, cancellationToken);
        await socket.SendAsync(new Frame { HandshakeReply = handshake.ReceiveHandshake(opening.Handshake) }.ToByteArray(), WebSocketMessageType.Binary, true, cancellationToken);
        var proof = await ReceiveFrameAsync(socket, cancellationToken);
        handshake.VerifyReply(proof.HandshakeReply);
    }

    private static async Task<Frame> ReceiveFrameAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        var length = 0;
        ValueWebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new WebSocketException("the server closed the connection");
            }

            length += result.Count;
        }
        while (!result.EndOfMessage);
        return Frame.Parser.ParseFrom(buffer, 0, length);
    }

    private static async Task ReadUntilClosedAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while ((await socket.ReceiveAsync(buffer.AsMemory(), cancellationToken)).MessageType != WebSocketMessageType.Close)
            {
            }
        }
        catch (WebSocketException)
        {
            // Dropped without a close message: also a disconnect.
        }
    }
}
