using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using RnnCluster.Config;
using RnnCluster.DataPlane;
using RnnCluster.Parallel.Cluster;
using RnnCluster.DataPlane.Tensors;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Cluster.Processes;

/// <summary>
/// Hostile or broken peers against a coordinator process in the middle of a run, on both of its ports
/// (Akka.Remote and the data plane): each is disconnected with a logged reason, and training carries on.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class BadPeerTests
{
    private static readonly TimeSpan Patience = LocalCluster.Patience;

    [Fact]
    public async Task Random_bytes_a_wrong_secret_and_an_unregistered_peer_are_disconnected_while_training_continues()
    {
        using var dir = new TempDirectory();
        await using var cluster = new LocalCluster(dir, LocalCluster.TinyRun(100_000, "cluster.min-workers=1", "training.epochs=10000"));
        var (coordinator, workers) = await cluster.StartAsync(1);
        var worker = workers[0];
        await coordinator.WaitForLineAsync("step 3/", Patience);
        var listening = await coordinator.WaitForLineAsync("Tensor transport of", Patience);
        var dataPlane = DataPlaneEndPoint.Parse(listening.Split(" listening on ")[1].Split(' ')[0]);
        using var cts = new CancellationTokenSource(Patience);

        // Random bytes on Akka.Remote's port: DotNetty drops the connection; membership is untouched.
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync("127.0.0.1", cluster.Port, cts.Token);
            await tcp.GetStream().WriteAsync(RandomNumberGenerator.GetBytes(4096), cts.Token);
        }

        // Random bytes on the data plane instead of a handshake.
        using (var random = new ClientWebSocket())
        {
            await random.ConnectAsync(new Uri($"ws://{dataPlane}/rnncluster/tensors"), cts.Token);
            await random.SendAsync(RandomNumberGenerator.GetBytes(64), WebSocketMessageType.Binary, endOfMessage: true, cts.Token);
            await ReadUntilClosedAsync(random, cts.Token);
        }

        await coordinator.WaitForLineAsync("Tensor handshake with", Patience);

        // A peer without the cluster secret fails the handshake.
        var wrong = ClusterSecret.FromBytes(Encoding.UTF8.GetBytes("not-the-cluster-secret-at-all-0123"), "test");
        var handshakes = coordinator.CountLines("Tensor handshake with");
        await using (var impostor = await StartTransportAsync(wrong, cts.Token))
        {
            await Assert.ThrowsAsync<TensorConnectionException>(() => impostor.ConnectAsync(dataPlane, cancellationToken: cts.Token));
        }

        await coordinator.WaitForLineAsync(_ => coordinator.CountLines("Tensor handshake with") > handshakes, Patience, "a second refused handshake");

        // A peer with the secret that never registered with the coordinator is dropped by the run.
        await using (var stranger = await StartTransportAsync(NodeSetup.LoadSecret(ClusterSettings.Default), cts.Token))
        {
            await using var connection = await stranger.ConnectAsync(dataPlane, cancellationToken: cts.Token);
            await coordinator.WaitForLineAsync("no registration of that node and incarnation", Patience);
        }

        // Training goes on with its worker.
        var step = coordinator.LastStep();
        await coordinator.WaitForLineAsync(l => NodeProcess.StepOf(l) >= step + 5, Patience, "five more steps");
        Assert.False(worker.HasExited);
        Assert.Equal(0, coordinator.CountLines("UNREACHABLE"));
        coordinator.Terminate();
        Assert.Equal(130, await coordinator.WaitForExitAsync(Patience));
    }

    private static async Task<TensorTransport> StartTransportAsync(ClusterSecret secret, CancellationToken cancellationToken)
    {
        var transport = new TensorTransport(
            new TensorTransportOptions { Identity = new NodeIdentity("akka.tcp://rnncluster@127.0.0.1:1", 7) },
            secret, NullLoggerFactory.Instance, TimeProvider.System, RandomNumberGenerator.Create());
        await transport.StartAsync(cancellationToken);
        return transport;
    }

    private static async Task ReadUntilClosedAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var result = await socket.ReceiveAsync(buffer, cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }
            }
        }
        catch (WebSocketException)
        {
            // Aborted by the coordinator: what a refused peer sees.
        }
    }
}
