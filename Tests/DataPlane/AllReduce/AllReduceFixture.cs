using System.Security.Cryptography;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.AllReduce;
using RnnCluster.DataPlane.Protocol;
using RnnCluster.DataPlane.Tensors;
using RnnCluster.Tests.DataPlane.Tensors;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.DataPlane.AllReduce;

/// <summary>One node of a test mesh: its transport, its inbound routing, its logs.</summary>
internal sealed class MeshNode : IAsyncDisposable
{
    public const int Formed = 4400;
    public const int Abandoned = 4401;
    public const int StaleFrame = 4402;
    public const int InboundClosed = 4403;
    public const int HelloHeld = 4404;

    private MeshNode(TensorTransport transport, CapturingLoggerProvider logs, ILoggerFactory loggerFactory, PeerConnections inbound)
    {
        Transport = transport;
        Logs = logs;
        LoggerFactory = loggerFactory;
        Inbound = inbound;
    }

    public TensorTransport Transport { get; }

    public CapturingLoggerProvider Logs { get; }

    public ILoggerFactory LoggerFactory { get; }

    public PeerConnections Inbound { get; }

    public static async Task<MeshNode> StartAsync(string name, Func<TensorTransportOptions, TensorTransportOptions>? adjust = null)
    {
        var logs = new CapturingLoggerProvider();
        var loggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        var transport = new TensorTransport(TensorFixture.Options(name, adjust), TensorFixture.Secret, loggerFactory, TimeProvider.System, RandomNumberGenerator.Create());
        using var cts = new CancellationTokenSource(TensorFixture.WaitLimit);
        await transport.StartAsync(cts.Token);
        return new MeshNode(transport, logs, loggerFactory, new PeerConnections(transport, loggerFactory));
    }

    public GroupMember Member(int rank) => new(rank, Transport.Identity, Transport.LocalEndPoint);

    public Task<GradientGroup> FormAsync(string run, int generation, int rank, IReadOnlyList<GroupMember> members, AllReduceOptions options, CancellationToken cancellationToken = default) =>
        GradientGroup.FormAsync(Transport, Inbound, run, generation, rank, members, options, LoggerFactory, TimeProvider.System, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await Inbound.DisposeAsync();
        await Transport.DisposeAsync();
        LoggerFactory.Dispose();
    }
}

/// <summary>W nodes on 127.0.0.1, one transport each, with a formed group; every wait is bounded.</summary>
internal sealed class Mesh : IAsyncDisposable
{
    private Mesh(IReadOnlyList<MeshNode> nodes, IReadOnlyList<GradientGroup> groups)
    {
        Nodes = nodes;
        Groups = groups;
    }

    public IReadOnlyList<MeshNode> Nodes { get; }

    public IReadOnlyList<GradientGroup> Groups { get; }

    public int Size => Nodes.Count;

    public static async Task<Mesh> FormAsync(
        int size, AllReduceOptions? options = null, string run = "run-1", int generation = 1, string name = "m", Func<TensorTransportOptions, TensorTransportOptions>? transport = null)
    {
        var nodes = await Task.WhenAll(Enumerable.Range(0, size).Select(r => MeshNode.StartAsync($"{name}{r}", transport)));
        var members = nodes.Select((n, r) => n.Member(r)).ToList();
        var groups = await Task.WhenAll(nodes.Select((n, r) => n.FormAsync(run, generation, r, members, options ?? new AllReduceOptions()))).WaitAsync(TensorFixture.WaitLimit);
        return new Mesh(nodes, groups);
    }

    /// <summary>Every member reduces its own copy of <paramref name="contributions"/>[rank]; returns the buffers after.</summary>
    public async Task<float[][]> AllReduceAsync(float[][] contributions, long step, int attempt = 0, int segment = 0)
    {
        var buffers = contributions.Select(c => (float[])c.Clone()).ToArray();
        await Task.WhenAll(Groups.Select((g, r) => g.AllReduceAsync(buffers[r], step, attempt, segment, CancellationToken.None))).WaitAsync(TensorFixture.WaitLimit);
        return buffers;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var group in Groups)
        {
            await group.DisposeAsync();
        }

        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }
    }
}

internal static class AllReduceData
{
    /// <summary>Floats of very different magnitudes, so a different summation order would change the rounding.</summary>
    public static float[] Gradients(int count, int seed)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-4, 5)));
        }

        return values;
    }

    public static float[][] Contributions(int size, int count, int seed) => [.. Enumerable.Range(0, size).Select(r => Gradients(count, seed * 31 + r))];

    /// <summary>((c0 + c1) + c2) + … in fp32, element by element: what GradientReducer computes in one process.</summary>
    public static float[] RankOrderSum(float[][] contributions)
    {
        var sum = (float[])contributions[0].Clone();
        for (var k = 1; k < contributions.Length; k++)
        {
            for (var i = 0; i < sum.Length; i++)
            {
                sum[i] += contributions[k][i];
            }
        }

        return sum;
    }

    /// <summary>The bf16 result: the rank-order fp32 sum of the bf16-rounded contributions, rounded to bf16.</summary>
    public static float[] BFloat16RankOrderSum(float[][] contributions)
    {
        var sum = RankOrderSum([.. contributions.Select(c => c.Select(BFloat16.Round).ToArray())]);
        return [.. sum.Select(BFloat16.Round)];
    }

    public static void AssertAllEqual(float[] expected, float[][] actual)
    {
        for (var r = 0; r < actual.Length; r++)
        {
            TensorFixture.AssertBitExact(expected, actual[r]);
        }
    }
}

/// <summary>A made-up member on a raw WebSocket: says hello as it likes and sends frames a <see cref="GradientGroup"/> never would.</summary>
internal static class RawMember
{
    public static readonly FrameLimits Limits = FrameLimits.Default with { MaxFrameBytes = 4096 };

    public static RnnCluster.DataPlane.Protocol.TensorHeader Header(TensorKind kind, string run, int generation, int rank, long step = 0, int attempt = 0, params (string Key, double Value)[] values)
    {
        var header = new RnnCluster.DataPlane.Protocol.TensorHeader { Kind = (uint)kind, RunId = run, Generation = generation, WorkerIndex = rank, Step = step, Attempt = attempt };
        foreach (var (key, value) in values)
        {
            header.Values.Add(key, value);
        }

        return header;
    }

    public static async Task SendAsync(RawPeer raw, RnnCluster.DataPlane.Protocol.TensorHeader header, float[] data, Func<IReadOnlyList<Frame>, IReadOnlyList<Frame>>? spoil = null)
    {
        var frames = TensorFixture.TensorFrames(Limits, header, data);
        foreach (var frame in spoil is null ? frames : spoil(frames))
        {
            await raw.SendAsync(frame);
        }
    }

    /// <summary>Flips one bit in the second chunk: the payload checksum fails.</summary>
    public static IReadOnlyList<Frame> Corrupt(IReadOnlyList<Frame> frames)
    {
        var corrupted = frames.Select(f => f.Clone()).ToList();
        var data = corrupted[1].Chunk.Data.ToByteArray();
        data[100] ^= 0x10;
        corrupted[1].Chunk.Data = ByteString.CopyFrom(data);
        return corrupted;
    }

    /// <summary>Cuts four bytes off the last chunk: shorter than the transfer declared.</summary>
    public static IReadOnlyList<Frame> Truncate(IReadOnlyList<Frame> frames)
    {
        var cut = frames.Select(f => f.Clone()).ToList();
        cut[^1].Chunk.Data = ByteString.CopyFrom(cut[^1].Chunk.Data.Span[..^4]);
        return cut;
    }
}
