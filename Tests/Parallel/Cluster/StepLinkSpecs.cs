using System.Net.WebSockets;
using Akka.Actor;
using Microsoft.Extensions.Logging;
using RnnCluster.Parallel;
using RnnCluster.Parallel.Cluster;
using RnnCluster.Training.Parallel;
using RnnCluster.Tests.DataPlane.Tensors;
using RnnCluster.Tests.Support;
using Xunit.Abstractions;
using static RnnCluster.Tests.DataPlane.Tensors.TensorFixture;

namespace RnnCluster.Tests.Parallel.Cluster;

/// <summary>
/// How a step link reports the end of its connection: a close either side meant (the run ended, a node
/// stops) is information; a peer that broke the rules is a warning; a process that vanished is its own warning.
/// </summary>
[Collection(TensorFixture.Collection)]
public sealed class StepLinkSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    private const int LinkEnded = 2302;
    private const int PeerGone = 2308;
    private const int LinkClosed = 2317;

    [Theory]
    [InlineData("goodbye", LinkClosed)]
    [InlineData("bad frame", LinkEnded)]
    [InlineData("reset", PeerGone)]
    public async Task The_end_of_a_links_connection_is_logged_at_the_level_its_reason_deserves(string end, int expected)
    {
        var (server, _) = await StartAsync("coordinator");
        await using var _s = server;
        using var raw = await RawPeer.ConnectAsync(server);
        using var accepting = new CancellationTokenSource(WaitLimit);
        var connection = await server.AcceptAsync(accepting.Token);
        using var logs = new CapturingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        var link = Sys.ActorOf(Props.Create(() => new StepLink(connection, TestActor, "run", 1UL, loggers, default)));
        Watch(link);

        switch (end)
        {
            case "goodbye":
                using (var cts = new CancellationTokenSource(WaitLimit))
                {
                    await raw.Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "run finished", cts.Token);
                }

                break;
            case "bad frame":
                await raw.SendAsync([1, 2, 3]);
                break;
            default:
                raw.Reset();
                break;
        }

        await logs.WaitForAsync(expected, timeout: WaitLimit);
        await ExpectTerminatedAsync(link, WaitLimit);
        Assert.Single(logs.Entries, e => e.EventId.Id is LinkEnded or PeerGone or LinkClosed);
        Assert.Equal(expected == LinkClosed ? LogLevel.Information : LogLevel.Warning, logs.Entries.Single(e => e.EventId.Id == expected).Level);
    }
    /// <summary>
    /// A step message is written into a payload rented from a pool and given back once sent: messages of
    /// every size in a row, each into an array a larger one may have used, all arrive whole and in order.
    /// </summary>
    [Fact]
    public async Task Step_messages_of_falling_and_rising_sizes_arrive_whole_and_in_order_through_pooled_payloads()
    {
        var (a, _) = await StartAsync("coordinator");
        await using var _a = a;
        var (b, _) = await StartAsync("worker");
        await using var _b = b;
        var (dialled, accepted) = await ConnectAsync(a, b);
        using var loggers = LoggerFactory.Create(_ => { });
        var sending = Sys.ActorOf(Props.Create(() => new StepLink(dialled, TestActor, "run", 1UL, loggers, default)));
        Sys.ActorOf(Props.Create(() => new StepLink(accepted, TestActor, "run", 1UL, loggers, default)));

        var sent = new List<object>();
        for (var i = 0; i < 40; i++)
        {
            // Sizes from a few bytes to ~1.3 MB, falling and rising, so pooled arrays are reused with stale bytes.
            var floats = (i * 7919 % 40) * 8_191 + (i % 3);
            object message = (i % 5) switch
            {
                0 => new ShardFailed(i % 3, i, $"worker {i} failed: {new string('ü', i * 13)}", NonFinite: i % 2 == 0),
                1 => new WindowGradients(i, 2, 0, 1, 0.5 * i, 700 + i, [], Floats(floats, i), 0.01, 0.002, 1.5),
                _ => new ComputeWindow(
                    i, 2, 0, 10, 1, 3, [1, 2, 3], [2, 3, -1], Floats(floats, i + 100), [],
                    new RunSnapshot(i - 1, 1, System.Text.Encoding.UTF8.GetBytes(new string((char)('a' + i % 26), floats / 2 + 1)), [], 0, (ulong)i)),
            };
            sent.Add(message);
            sending.Tell(message);
        }

        foreach (var expected in sent)
        {
            var arrived = await ExpectMsgAsync<object>(WaitLimit);
            switch (expected)
            {
                case ShardFailed f:
                    Assert.Equal(f, Assert.IsType<ShardFailed>(arrived));
                    break;
                case WindowGradients g:
                    var back = Assert.IsType<WindowGradients>(arrived);
                    Assert.Equal((g.Step, g.LossSum, g.Tokens, g.Norm), (back.Step, back.LossSum, back.Tokens, back.Norm));
                    AssertBitExact(g.FinalState, back.FinalState);
                    break;
                case ComputeWindow w:
                    var window = Assert.IsType<ComputeWindow>(arrived);
                    Assert.Equal(w.Step, window.Step);
                    AssertBitExact(w.State, window.State);
                    Assert.Equal(w.Snapshot!.TrainerState, window.Snapshot!.TrainerState);
                    Assert.Equal(w.Snapshot.Checksum, window.Snapshot.Checksum);
                    break;
            }
        }
    }
}
