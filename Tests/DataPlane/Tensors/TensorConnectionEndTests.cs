using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Tensors;
using Xunit.Abstractions;
using static RnnCluster.Tests.DataPlane.Tensors.TensorFixture;

namespace RnnCluster.Tests.DataPlane.Tensors;

/// <summary>
/// How the ends of tensor connections are told apart: a goodbye, a peer that vanished, a port nobody
/// listens on, a transfer that stalled. Each test asserts the reason, not how fast it came; the time a
/// vanished peer took to be noticed is written to the test output.
/// </summary>
[Collection(TensorFixture.Collection)]
public sealed class TensorConnectionEndTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_goodbye_arrives_after_the_tensors_sent_before_it_and_carries_its_reason()
    {
        var (a, _) = await StartAsync("a");
        await using var _a = a;
        var (b, bLogs) = await StartAsync("b");
        await using var _b = b;
        var (ab, ba) = await ConnectAsync(a, b);

        await ab.SendAsync(Header(step: 1), Floats(100_000, seed: 1));
        await ab.SendAsync(Header(step: 2), Floats(7, seed: 2));
        await ab.CloseAsync("run finished");

        using (var first = await ReceiveAsync(ba))
        using (var second = await ReceiveAsync(ba))
        {
            Assert.Equal(new[] { 1L, 2L }, new[] { first.Header.Step, second.Header.Step });
        }

        var error = await Assert.ThrowsAsync<TensorConnectionException>(() => ba.ReceiveAsync().AsTask());
        Assert.Equal(new ConnectionEnd(ConnectionEndReason.Goodbye, a.Identity.ToString(), "run finished"), error.End);
        Assert.False(error.End.PeerGone);
        Assert.Equal(ConnectionEndReason.Goodbye, (await EndedAsync(ba)).Reason);
        Assert.Equal(new ConnectionEnd(ConnectionEndReason.ClosedHere, b.Identity.ToString(), "run finished"), await EndedAsync(ab));
        var afterClose = await Assert.ThrowsAsync<TensorConnectionException>(() => ab.SendAsync(Header(step: 3), Floats(1, seed: 3)));
        Assert.Equal(ConnectionEndReason.ClosedHere, afterClose.End.Reason);
        await bLogs.WaitForAsync(Ended, "Goodbye: run finished", timeout: WaitLimit);
        await Conditions_AwaitEmptyAsync(a, b);
    }

    /// <summary>A close message holds 123 bytes of UTF-8: a longer reason is cut there, never inside a character.</summary>
    [Fact]
    public async Task A_long_non_ASCII_goodbye_reaches_the_peer_cut_to_the_close_message_limit()
    {
        var (a, _) = await StartAsync("a");
        await using var _a = a;
        var (b, _) = await StartAsync("b");
        await using var _b = b;
        var (ab, ba) = await ConnectAsync(a, b);
        var reason = string.Concat(Enumerable.Repeat("Knoten außer Betrieb 🚧 ", 10));

        await ab.CloseAsync(reason);

        var end = await EndedAsync(ba);
        Assert.Equal(ConnectionEndReason.Goodbye, end.Reason);
        Assert.StartsWith("Knoten außer Betrieb 🚧 Knoten", end.Detail, StringComparison.Ordinal);
        Assert.StartsWith(end.Detail, reason, StringComparison.Ordinal);
        Assert.InRange(System.Text.Encoding.UTF8.GetByteCount(end.Detail), 100, 123);
    }

    [Theory]
    [InlineData("abort")]
    [InlineData("reset")]
    public async Task A_peer_whose_connection_ends_without_a_goodbye_is_reported_gone(string how)
    {
        var (server, logs) = await StartAsync("server");
        await using var _s = server;
        var (raw, atServer) = await RawPeer.ConnectAcceptedAsync(server);
        using var _r = raw;

        var clock = Stopwatch.StartNew();
        if (how == "reset")
        {
            raw.Reset();
        }
        else
        {
            raw.Socket.Abort();
        }

        var end = await EndedAsync(atServer);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{how}: reported as {end.Reason} after {clock.Elapsed.TotalMilliseconds:F1} ms"));
        Assert.Equal(ConnectionEndReason.ClosedWithoutGoodbye, end.Reason);
        Assert.True(end.PeerGone);
        Assert.Equal(raw.Identity.ToString(), end.Peer);
        var error = await Assert.ThrowsAsync<TensorConnectionException>(() => atServer.ReceiveAsync().AsTask());
        Assert.Equal(end, error.End);
        await logs.WaitForAsync(Ended, "ClosedWithoutGoodbye", timeout: WaitLimit);
        Assert.Empty(server.Connections);
    }

    [Fact]
    public async Task A_peer_reset_in_the_middle_of_a_tensor_is_reported_gone_not_stalled()
    {
        var limits = FrameLimits.Default with { MaxFrameBytes = 4096 };
        var (server, _) = await StartAsync("server", o => o with { Limits = limits });
        await using var _s = server;
        var (raw, atServer) = await RawPeer.ConnectAcceptedAsync(server);
        using var _r = raw;
        var frames = TensorFrames(limits, WireHeader(step: 1), Floats(5000, seed: 1));

        await raw.SendAsync(frames[0]);
        await raw.SendAsync(frames[1]);
        raw.Reset();

        Assert.Equal(ConnectionEndReason.ClosedWithoutGoodbye, (await EndedAsync(atServer)).Reason);
    }

    [Fact]
    public async Task Stopping_a_transport_says_goodbye_and_redialling_its_closed_port_is_connection_refused()
    {
        var (a, aLogs) = await StartAsync("a");
        await using var _a = a;
        var (b, _) = await StartAsync("b");
        var (ab, _) = await ConnectAsync(a, b);
        var endpoint = b.LocalEndPoint;

        await b.DisposeAsync();

        var end = await EndedAsync(ab);
        Assert.Equal(ConnectionEndReason.Goodbye, end.Reason);
        Assert.Contains("stopping", end.Detail, StringComparison.Ordinal);
        var clock = Stopwatch.StartNew();
        var refused = await Assert.ThrowsAsync<TensorConnectionException>(() => a.ConnectAsync(endpoint, b.Identity));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"redial reported {refused.End.Reason} after {clock.Elapsed.TotalMilliseconds:F1} ms"));
        Assert.Equal(ConnectionEndReason.ConnectionRefused, refused.End.Reason);
        Assert.True(refused.End.PeerGone);
        Assert.Equal(b.Identity.ToString(), refused.End.Peer);
        await aLogs.WaitForAsync(ConnectFailed, $"Connecting to {endpoint} failed, ConnectionRefused", timeout: WaitLimit);
        Assert.Empty(a.Connections);
    }

    [Fact]
    public async Task A_send_the_peer_stops_taking_times_out_as_stalled_naming_the_peer()
    {
        var (a, aLogs) = await StartAsync("a", o => o with { TransferTimeout = TimeSpan.FromSeconds(1) });
        await using var _a = a;
        var (b, _) = await StartAsync("b", o => o with { ReceiveCapacity = 1 });
        await using var _b = b;
        var (ab, _) = await ConnectAsync(a, b);
        var payload = Floats(5_000_000, seed: 5);

        // b never receives: one tensor waits for it, one more fills its reader, then the socket buffers fill.
        TensorConnectionException? error = null;
        for (var i = 0; i < 20 && error is null; i++)
        {
            try
            {
                await ab.SendAsync(Header(step: i), payload).WaitAsync(WaitLimit);
            }
            catch (TensorConnectionException e)
            {
                error = e;
            }
        }

        Assert.NotNull(error);
        output.WriteLine(error.ToString());
        Assert.Equal(ConnectionEndReason.Stalled, error.End.Reason);
        Assert.Contains(b.Identity.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Contains("did not finish within 00:00:01", error.Message, StringComparison.Ordinal);
        Assert.Equal(ConnectionEndReason.Stalled, (await EndedAsync(ab)).Reason);
        await aLogs.WaitForAsync(Stalled, b.Identity.ToString(), timeout: WaitLimit);
    }

    [Fact]
    public async Task A_tensor_the_peer_stops_sending_midway_times_out_as_stalled_naming_the_peer()
    {
        var limits = FrameLimits.Default with { MaxFrameBytes = 4096 };
        var (server, logs) = await StartAsync("server", o => o with { Limits = limits, TransferTimeout = TimeSpan.FromMilliseconds(500) });
        await using var _s = server;
        var (raw, atServer) = await RawPeer.ConnectAcceptedAsync(server);
        using var _r = raw;
        var frames = TensorFrames(limits, WireHeader(step: 1), Floats(5000, seed: 1));

        await raw.SendAsync(frames[0]);
        await raw.SendAsync(frames[1]);

        var error = await Assert.ThrowsAsync<TensorConnectionException>(() => atServer.ReceiveAsync().AsTask().WaitAsync(WaitLimit));
        Assert.Equal(ConnectionEndReason.Stalled, error.End.Reason);
        Assert.Contains(raw.Identity.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Contains("did not arrive within", error.Message, StringComparison.Ordinal);
        Assert.Equal((WebSocketCloseStatus)4004, await raw.ReadUntilClosedAsync());
        await logs.WaitForAsync(Stalled, raw.Identity.ToString(), timeout: WaitLimit);
    }

    [Fact]
    public async Task An_idle_connection_is_not_a_stalled_one()
    {
        var (a, _) = await StartAsync("a", o => o with { TransferTimeout = TimeSpan.FromMilliseconds(200) });
        await using var _a = a;
        var (b, _) = await StartAsync("b", o => o with { TransferTimeout = TimeSpan.FromMilliseconds(200) });
        await using var _b = b;
        var (ab, ba) = await ConnectAsync(a, b);

        // Waiting longer than the transfer timeout with nothing in flight ends nothing.
        using (var idle = new CancellationTokenSource(TimeSpan.FromMilliseconds(600)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ba.ReceiveAsync(idle.Token).AsTask());
        }

        Assert.Null(ab.End);
        Assert.Null(ba.End);
        await ab.SendAsync(Header(step: 1), Floats(3, seed: 1));
        using var message = await ReceiveAsync(ba);
        Assert.Equal(1, message.Header.Step);
    }

    /// <summary>Ended connections leave their transport's table.</summary>
    private static Task Conditions_AwaitEmptyAsync(TensorTransport a, TensorTransport b) =>
        RnnCluster.Tests.Support.Conditions.AwaitAsync(() => a.Connections.Count == 0 && b.Connections.Count == 0, WaitLimit, "both connection tables empty");
}
