using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Tensors;
using static RnnCluster.Tests.DataPlane.Tensors.TensorFixture;

namespace RnnCluster.Tests.DataPlane.Tensors;

/// <summary>
/// The HTTP upgrade that opens every data-plane connection, now our own code on both ends: what a
/// listener answers to requests that are not a tensor peer's upgrade, what a dialler makes of answers
/// that are not a listener's, and that both ends still speak standard WebSocket with other software
/// (raw peers elsewhere dial with .NET's ClientWebSocket; here our dialler reaches Kestrel's WebSockets).
/// </summary>
[Collection(TensorFixture.Collection)]
public sealed class TensorUpgradeTests
{
    private const int BadUpgradeRequest = 4016;
    private const int NotTensorRequest = 4310;
    private const int UpgradeAbandoned = 4017;

    [Theory]
    [InlineData("not HTTP at all\r\n\r\n", "400", BadUpgradeRequest)]
    [InlineData("GET /rnncluster/tensors HTTP/1.1\r\nHost: x\r\n\r\n", "404", NotTensorRequest)]
    [InlineData("GET /rnncluster/tensors HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n\r\n", "404", NotTensorRequest)]
    [InlineData("POST /rnncluster/tensors HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", "404", NotTensorRequest)]
    public async Task A_request_that_is_not_a_tensor_upgrade_gets_an_HTTP_refusal_and_the_listener_serves_on(string request, string status, int logged)
    {
        var (server, logs) = await StartAsync("server");
        await using var _s = server;

        var answer = await ExchangeAsync(server.LocalEndPoint.Port, Encoding.ASCII.GetBytes(request));

        Assert.StartsWith($"HTTP/1.1 {status} ", answer, StringComparison.Ordinal);
        await logs.WaitForAsync(logged, timeout: WaitLimit);
        Assert.Empty(server.Connections);
        var (good, _) = await StartAsync("good");
        await using var _g = good;
        var (toServer, atServer) = await ConnectAsync(good, server);
        await AssertTransfersAsync(toServer, atServer, step: 1);
    }

    [Fact]
    public async Task A_request_head_over_the_limit_is_refused()
    {
        var (server, logs) = await StartAsync("server");
        await using var _s = server;
        var request = Encoding.ASCII.GetBytes("GET /rnncluster/tensors HTTP/1.1\r\nX-Padding: " + new string('x', 9000) + "\r\n\r\n");

        var answer = await ExchangeAsync(server.LocalEndPoint.Port, request);

        Assert.StartsWith("HTTP/1.1 400 ", answer, StringComparison.Ordinal);
        await logs.WaitForAsync(BadUpgradeRequest, "longer than 8192 bytes", timeout: WaitLimit);
    }

    [Fact]
    public async Task A_connection_that_sends_no_request_is_closed_after_the_handshake_timeout()
    {
        var (server, logs) = await StartAsync("server", o => o with { HandshakeTimeout = TimeSpan.FromMilliseconds(300) });
        await using var _s = server;

        var answer = await ExchangeAsync(server.LocalEndPoint.Port, []);

        Assert.Equal("", answer);
        await logs.WaitForAsync(UpgradeAbandoned, timeout: WaitLimit);
        Assert.Empty(server.Connections);
    }

    [Theory]
    [InlineData("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n", ConnectionEndReason.HandshakeRefused, "Sec-WebSocket-Accept does not match")]
    [InlineData("HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n", ConnectionEndReason.HandshakeRefused, "HTTP 302")]
    [InlineData("SSH-2.0-OpenSSH_9.2\r\n\r\n", ConnectionEndReason.ClosedWithoutGoodbye, "not HTTP")]
    [InlineData("", ConnectionEndReason.ClosedWithoutGoodbye, "closed before any HTTP")]
    public async Task A_dialler_refuses_a_listener_whose_answer_is_not_the_upgrade(string answer, ConnectionEndReason reason, string detail)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var answering = AnswerOnceAsync(listener, Encoding.ASCII.GetBytes(answer));
        var (dialer, _) = await StartAsync("dialer");
        await using var _d = dialer;

        var refused = await Assert.ThrowsAsync<TensorConnectionException>(() => dialer.ConnectAsync(new DataPlaneEndPoint("127.0.0.1", port)));

        Assert.Equal(reason, refused.End.Reason);
        Assert.Contains(detail, refused.End.Detail, StringComparison.Ordinal);
        var request = await answering.WaitAsync(WaitLimit);
        Assert.StartsWith("GET /rnncluster/tensors HTTP/1.1\r\n", request, StringComparison.Ordinal);
        Assert.Contains("\r\nSec-WebSocket-Version: 13\r\n", request, StringComparison.Ordinal);
        Assert.Empty(dialer.Connections);
    }

    [Fact]
    public async Task The_dialler_upgrades_with_a_standard_WebSocket_server()
    {
        // Kestrel's WebSockets stand in for any RFC 6455 server (and for nodes of the release before this
        // one, which listened with it): the upgrade succeeds, and the connection then fails only because
        // the server is no tensor peer.
        var upgraded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using var app = builder.Build();
        app.UseWebSockets();
        app.Run(async context =>
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            upgraded.TrySetResult();
            await socket.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.PolicyViolation, "no tensors here", CancellationToken.None);
        });
        using var starting = new CancellationTokenSource(WaitLimit);
        await app.StartAsync(starting.Token);
        var port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
        var (dialer, _) = await StartAsync("dialer");
        await using var _d = dialer;

        var refused = await Assert.ThrowsAsync<TensorConnectionException>(() => dialer.ConnectAsync(new DataPlaneEndPoint("127.0.0.1", port)));

        await upgraded.Task.WaitAsync(WaitLimit);
        Assert.Equal(ConnectionEndReason.HandshakeRefused, refused.End.Reason);
        Assert.Contains("no tensors here", refused.End.Detail, StringComparison.Ordinal);
        await app.StopAsync(CancellationToken.None);
    }

    /// <summary>Sends <paramref name="request"/> on a plain TCP connection and reads the answer until the listener closes it.</summary>
    private static async Task<string> ExchangeAsync(int port, byte[] request)
    {
        using var cts = new CancellationTokenSource(WaitLimit);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port, cts.Token);
        var stream = tcp.GetStream();
        await stream.WriteAsync(request, cts.Token);
        var answer = new MemoryStream();
        await stream.CopyToAsync(answer, cts.Token);
        return Encoding.ASCII.GetString(answer.ToArray());
    }

    /// <summary>Accepts one connection, reads its request head, writes <paramref name="answer"/> and closes; returns the head.</summary>
    private static async Task<string> AnswerOnceAsync(TcpListener listener, byte[] answer)
    {
        using var cts = new CancellationTokenSource(WaitLimit);
        using var tcp = await listener.AcceptTcpClientAsync(cts.Token);
        var stream = tcp.GetStream();
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && await stream.ReadAsync(one, cts.Token) == 1)
        {
            head.Append((char)one[0]);
        }

        await stream.WriteAsync(answer, cts.Token);
        return head.ToString();
    }
}
