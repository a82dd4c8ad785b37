using System.Net.WebSockets;
using Akka.Actor;
using Microsoft.Extensions.Logging;
using RnnCluster.Parallel.Cluster;
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
}
