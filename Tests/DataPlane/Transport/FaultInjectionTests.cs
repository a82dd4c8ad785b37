using System.Diagnostics;
using RnnCluster.DataPlane.Transport;
using static RnnCluster.Tests.DataPlane.Transport.TransportFixture;

namespace RnnCluster.Tests.DataPlane.Transport;

/// <summary>
/// <see cref="TransportFaults"/> on real loopback connections. To know that nothing else is on its way,
/// the sender stops: its writer sends everything queued before its close message, and the receiver
/// delivers every message before it reports the connection closed.
/// </summary>
[Collection(nameof(RemoteTransportTests))]
public sealed class FaultInjectionTests
{
    private const int FaultsEnabled = 4020;

    [Fact]
    public async Task Drop_probability_one_loses_every_ordinary_message_but_no_control_message_or_heartbeat()
    {
        var (a, aLogs) = await StartNodeAsync(Options(o => o with { Faults = TransportFaults.Parse("drop=1.0;seed=7") }));
        await using var _a = a;
        var (b, _) = await StartNodeAsync(incarnation: 2);
        await using var _b = b;
        await ConnectAsync(a, b);

        for (var i = 0; i < 10; i++)
        {
            Assert.True(await a.SendAsync(b.LocalIdentity.Address, new Note($"lost {i}"), "/user/a", "/user/b"));
        }

        Assert.True(await a.SendAsync(b.LocalIdentity.Address, new Note("control"), "/user/a", "/user/b", MessagePriority.Control));
        await ReadUntilAsync(b.Heartbeats, h => h.Peer == a.LocalIdentity);

        Assert.Equal([new Note("control")], await DeliveredAfterStopAsync(a, b));
        await aLogs.WaitForAsync(FaultsEnabled, "drop=1", timeout: WaitLimit);
    }

    [Fact]
    public async Task A_delay_holds_back_ordinary_messages_in_order_while_control_messages_overtake_them()
    {
        var delay = TimeSpan.FromSeconds(1);
        var (a, _) = await StartNodeAsync(Options(o => o with { Faults = TransportFaults.Parse("delay=1s;drop=0.0") }));
        await using var _a = a;
        var (b, _) = await StartNodeAsync(incarnation: 2);
        await using var _b = b;
        await ConnectAsync(a, b);

        var sent = Stopwatch.GetTimestamp();
        for (var i = 0; i < 5; i++)
        {
            Assert.True(await a.SendAsync(b.LocalIdentity.Address, new Note($"slow {i}"), "/user/a", "/user/b"));
        }

        Assert.True(await a.SendAsync(b.LocalIdentity.Address, new Note("fast"), "/user/a", "/user/b", MessagePriority.Control));

        Assert.Equal(new Note("fast"), (await ReadUntilAsync(b.Messages, _ => true)).Message);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(new Note($"slow {i}"), (await ReadUntilAsync(b.Messages, _ => true)).Message);
        }

        // Timers may fire a clock tick early relative to Stopwatch; the delay itself is a full second.
        Assert.True(Stopwatch.GetElapsedTime(sent) >= delay - TimeSpan.FromMilliseconds(20), $"arrived after {Stopwatch.GetElapsedTime(sent)}");
    }

    [Fact]
    public async Task Drop_probability_zero_delivers_every_message()
    {
        var (a, _) = await StartNodeAsync(Options(o => o with { Faults = TransportFaults.Parse("drop=0.0;delay=1ms") }));
        await using var _a = a;
        var (b, _) = await StartNodeAsync(incarnation: 2);
        await using var _b = b;
        await ConnectAsync(a, b);

        for (var i = 0; i < 20; i++)
        {
            Assert.True(await a.SendAsync(b.LocalIdentity.Address, new Note($"kept {i}"), "/user/a", "/user/b"));
        }

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(new Note($"kept {i}"), (await ReadUntilAsync(b.Messages, _ => true)).Message);
        }
    }

    [Fact]
    public async Task The_same_seed_drops_the_same_messages()
    {
        var first = await DeliveredWithHalfDroppedAsync(seed: 7);
        var second = await DeliveredWithHalfDroppedAsync(seed: 7);

        Assert.Equal(first, second);
        Assert.InRange(first.Count, 1, 39);
    }

    private static async Task<IReadOnlyList<object>> DeliveredWithHalfDroppedAsync(int seed)
    {
        var (a, _) = await StartNodeAsync(Options(o => o with { Faults = new TransportFaults { DropProbability = 0.5, Seed = seed } }));
        await using var _a = a;
        var (b, _) = await StartNodeAsync(incarnation: 2);
        await using var _b = b;
        await ConnectAsync(a, b);
        for (var i = 0; i < 40; i++)
        {
            Assert.True(await a.SendAsync(b.LocalIdentity.Address, new Note($"maybe {i}"), "/user/a", "/user/b"));
        }

        return await DeliveredAfterStopAsync(a, b);
    }

    private static async Task ConnectAsync(RemoteTransport from, RemoteTransport to)
    {
        from.Connect(to.LocalIdentity.Address);
        await ConnectedAsync(from, to.LocalIdentity.Address);
    }

    /// <summary>Stops <paramref name="sender"/> and returns every message <paramref name="receiver"/> got from it.</summary>
    private static async Task<IReadOnlyList<object>> DeliveredAfterStopAsync(RemoteTransport sender, RemoteTransport receiver)
    {
        var identity = sender.LocalIdentity;
        using var cts = new CancellationTokenSource(WaitLimit);
        await sender.StopAsync(cts.Token);
        await ReadUntilAsync(receiver.PeerEvents, e => e.Kind == PeerEventKind.Disconnected && e.Peer == identity);
        var delivered = new List<object>();
        while (receiver.Messages.TryRead(out var message))
        {
            Assert.Equal(identity, message.Peer);
            delivered.Add(message.Message);
        }

        return delivered;
    }
}
