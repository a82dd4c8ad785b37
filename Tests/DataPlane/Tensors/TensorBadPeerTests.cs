using System.Net.WebSockets;
using Google.Protobuf;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Protocol;
using RnnCluster.DataPlane.Tensors;
using static RnnCluster.Tests.DataPlane.Tensors.TensorFixture;

namespace RnnCluster.Tests.DataPlane.Tensors;

/// <summary>
/// Broken or hostile peers on raw WebSockets: each is disconnected with a logged reason and the close
/// code that says why, while a well-behaved peer of the same transport keeps transferring.
/// </summary>
[Collection(TensorFixture.Collection)]
public sealed class TensorBadPeerTests
{
    private static readonly FrameLimits Limits = FrameLimits.Default with { MaxFrameBytes = 4096 };

    public static TheoryData<string> BadInputs => new() { "oversized frame", "oversized frame in fragments", "unchunked tensor of exactly the limit, in fragments", "truncated frame", "unchunked tensor", "corrupted chunk", "truncated chunk", "chunked handshake", "header without kind", "data before header", "over the in-flight limit" };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task An_authenticated_peer_breaking_the_rules_is_dropped_and_logged_and_others_carry_on(string input)
    {
        var (server, logs) = await StartAsync("server", o => o with { Limits = Limits with { MaxInFlightBytesPerPeer = 64 * 1024 } });
        await using var _s = server;
        var (good, _) = await StartAsync("good", o => o with { Limits = Limits });
        await using var _g = good;
        var (toServer, atServer) = await ConnectAsync(good, server);
        await AssertTransfersAsync(toServer, atServer, step: 1);

        using var raw = await RawPeer.ConnectAsync(server);
        using var accepting = new CancellationTokenSource(WaitLimit);
        var rawAtServer = await server.AcceptAsync(accepting.Token);
        Assert.Equal(raw.Identity, rawAtServer.Peer);
        var (expectedStatus, expectedReason) = await SendBadAsync(raw, input);

        Assert.Equal(expectedStatus, await raw.ReadUntilClosedAsync());
        var end = await EndedAsync(rawAtServer);
        Assert.Equal(ConnectionEndReason.FrameRefused, end.Reason);
        Assert.Contains(expectedReason, end.Detail, StringComparison.Ordinal);
        await logs.WaitForAsync(FrameRefused, expectedReason, timeout: WaitLimit);
        var error = await Assert.ThrowsAsync<TensorConnectionException>(() => rawAtServer.ReceiveAsync().AsTask());
        Assert.Contains(raw.Identity.ToString(), error.Message, StringComparison.Ordinal);

        await AssertTransfersAsync(toServer, atServer, step: 2);
        Assert.Null(atServer.End);
    }

    [Fact]
    public async Task Random_bytes_instead_of_a_handshake_are_refused_and_logged_and_others_carry_on()
    {
        var (server, logs) = await StartAsync("server");
        await using var _s = server;
        var (good, _) = await StartAsync("good");
        await using var _g = good;
        var (toServer, atServer) = await ConnectAsync(good, server);

        using (var raw = await RawPeer.ConnectAsync(server, authenticate: false))
        {
            var noise = new byte[300];
            new Random(3).NextBytes(noise);
            await raw.SendAsync(noise);
            Assert.Equal(WebSocketCloseStatus.PolicyViolation, await raw.ReadUntilClosedAsync());
        }

        await logs.WaitForAsync(HandshakeFailed, "(inbound) failed", timeout: WaitLimit);
        await AssertTransfersAsync(toServer, atServer, step: 1);
        Assert.Single(server.Connections);
    }

    [Fact]
    public async Task Connections_beyond_the_limit_are_refused_and_logged_while_the_open_one_carries_on()
    {
        var (server, logs) = await StartAsync("server", o => o with { Limits = FrameLimits.Default with { MaxConnections = 1 } });
        await using var _s = server;
        var (first, _) = await StartAsync("first");
        await using var _f = first;
        var (second, _) = await StartAsync("second");
        await using var _x = second;
        var (toServer, atServer) = await ConnectAsync(first, server);

        var refused = await Assert.ThrowsAsync<TensorConnectionException>(() => second.ConnectAsync(server.LocalEndPoint));

        Assert.Equal(ConnectionEndReason.HandshakeRefused, refused.End.Reason);
        Assert.Contains("HTTP 503", refused.End.Detail, StringComparison.Ordinal);
        await logs.WaitForAsync(ConnectionLimitReached, "the limit is 1", timeout: WaitLimit);
        await AssertTransfersAsync(toServer, atServer, step: 1);
        Assert.Same(atServer, Assert.Single(server.Connections));
    }

    [Fact]
    public async Task A_request_for_another_path_is_answered_not_found()
    {
        var (server, _) = await StartAsync("server");
        await using var _s = server;
        var (other, _) = await StartAsync("other", o => o with { Path = "/somewhere-else" });
        await using var _o = other;

        var refused = await Assert.ThrowsAsync<TensorConnectionException>(() => other.ConnectAsync(server.LocalEndPoint));

        Assert.Equal(ConnectionEndReason.HandshakeRefused, refused.End.Reason);
        Assert.Contains("HTTP 404", refused.End.Detail, StringComparison.Ordinal);
    }

    /// <summary>An unchunked tensor frame whose serialized size is exactly <paramref name="bytes"/>.</summary>
    private static Frame FrameOfExactly(int bytes)
    {
        for (var data = 0; data < bytes; data++)
        {
            var frame = new Frame { Tensor = new Tensor { Header = WireHeader(step: 4), Data = ByteString.CopyFrom(new byte[data]) } };
            if (frame.CalculateSize() == bytes)
            {
                return frame;
            }
        }

        throw new InvalidOperationException($"no tensor frame serializes to exactly {bytes} bytes");
    }

    /// <summary>Sends the bad input; returns the close code the server must answer with and the text its reason must contain.</summary>
    private static async Task<(WebSocketCloseStatus, string)> SendBadAsync(RawPeer raw, string input)
    {
        var frames = TensorFrames(Limits, WireHeader(step: 9), Floats(3000, seed: 9));
        switch (input)
        {
            case "oversized frame":
                await raw.SendAsync(new byte[Limits.MaxFrameBytes + 1]);
                return (WebSocketCloseStatus.MessageTooBig, "MaxFrameBytes");
            case "oversized frame in fragments":
                // The limit's worth, then one byte more in a fragment of its own: over the limit however it is cut.
                await raw.SendFragmentsAsync(new byte[Limits.MaxFrameBytes], [], [0]);
                return (WebSocketCloseStatus.MessageTooBig, "MaxFrameBytes");
            case "unchunked tensor of exactly the limit, in fragments":
                // Exactly MaxFrameBytes, its last fragment empty: read whole and parsed (and refused as
                // unchunked), not taken for an oversized frame.
                await raw.SendFragmentsAsync([.. FrameOfExactly(Limits.MaxFrameBytes).ToByteArray()], []);
                return (WebSocketCloseStatus.PolicyViolation, "sent a Tensor frame");
            case "truncated frame":
                await raw.SendAsync(frames[0].ToByteArray()[..^10]);
                return (WebSocketCloseStatus.ProtocolError, "that are not a Frame");
            case "unchunked tensor":
                // Unchunked, it would carry no checksum.
                await raw.SendAsync(new Frame { Tensor = new Tensor { Header = WireHeader(step: 5), Data = LittleEndianFloats.ToByteString([1f]) } });
                return (WebSocketCloseStatus.PolicyViolation, "sent a Tensor frame");
            case "corrupted chunk":
                var corrupted = frames.Select(f => f.Clone()).ToList();
                var data = corrupted[1].Chunk.Data.ToByteArray();
                data[100] ^= 0x10;
                corrupted[1].Chunk.Data = ByteString.CopyFrom(data);
                foreach (var frame in corrupted)
                {
                    await raw.SendAsync(frame);
                }

                return (WebSocketCloseStatus.PolicyViolation, "failed its checksum");
            case "truncated chunk":
                var cut = frames.Select(f => f.Clone()).ToList();
                cut[^1].Chunk.Data = ByteString.CopyFrom(cut[^1].Chunk.Data.Span[..^4]);
                foreach (var frame in cut)
                {
                    await raw.SendAsync(frame);
                }

                return (WebSocketCloseStatus.PolicyViolation, "the transfer declared");
            case "chunked handshake":
                var handshake = new Frame { Handshake = new Handshake { NodeAddress = new string('h', 5000) } };
                foreach (var frame in new ChunkWriter(Limits).Split(handshake.ToByteArray()))
                {
                    await raw.SendAsync(frame);
                }

                return (WebSocketCloseStatus.PolicyViolation, "only tensors are chunked");
            case "header without kind":
                foreach (var frame in TensorFrames(Limits, new RnnCluster.DataPlane.Protocol.TensorHeader { Step = 3 }, Floats(10, seed: 1)))
                {
                    await raw.SendAsync(frame);
                }

                return (WebSocketCloseStatus.PolicyViolation, "Kind must be a positive number");
            case "data before header":
                // Any protobuf parser reads this; the tensor connection wants the data last, as its sender writes it.
                var tensor = new MemoryStream();
                var output = new CodedOutputStream(tensor);
                output.WriteTag(Tensor.DataFieldNumber, WireFormat.WireType.LengthDelimited);
                output.WriteBytes(LittleEndianFloats.ToByteString(Floats(100, seed: 1)));
                output.WriteTag(Tensor.HeaderFieldNumber, WireFormat.WireType.LengthDelimited);
                output.WriteMessage(WireHeader(step: 2));
                output.Flush();
                var bytes = new MemoryStream();
                var frameOutput = new CodedOutputStream(bytes);
                frameOutput.WriteTag(Frame.TensorFieldNumber, WireFormat.WireType.LengthDelimited);
                frameOutput.WriteBytes(ByteString.CopyFrom(tensor.ToArray()));
                frameOutput.Flush();
                foreach (var frame in new ChunkWriter(Limits).Split(bytes.ToArray()))
                {
                    await raw.SendAsync(frame);
                }

                return (WebSocketCloseStatus.PolicyViolation, "tensor data that is not the last field");
            case "over the in-flight limit":
                await raw.SendAsync(TensorFrames(Limits, WireHeader(step: 4), Floats(20_000, seed: 4))[0]);
                return (WebSocketCloseStatus.MessageTooBig, "MaxInFlightBytesPerPeer");
            default:
                throw new ArgumentOutOfRangeException(nameof(input), input, null);
        }
    }
}
