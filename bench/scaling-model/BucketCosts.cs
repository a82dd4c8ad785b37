using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.AllReduce;
using RnnCluster.DataPlane.Tensors;

namespace RnnCluster.Bench.ScalingModel;

/// <summary>One measured point: a lone all-reduce of one bucket among <see cref="Members"/> members in this process.</summary>
/// <param name="BytesPerFloat">On the wire: 4 (float32), 2 with <c>cluster.gradient-compression = bf16</c>.</param>
internal sealed record BucketPoint(int Members, int Floats, int Repeats, double WallMs, double CpuMs, int BytesPerFloat = 4)
{
    /// <summary>Bytes of each message on the wire: a bucket's shard.</summary>
    public double MessageBytes => (double)BytesPerFloat * Floats / Members;

    /// <summary>
    /// CPU per message: each of the W members sends W-1 messages per phase (reduce-scatter, all-gather),
    /// so an all-reduce is 2 W (W-1) messages; each one's cost covers its sending, its receipt and its sum.
    /// </summary>
    public double MessageCpuMs => CpuMs / (2.0 * Members * (Members - 1));
}

/// <summary>What the model needs of the data plane: CPU per message by its size, and the latency of a small all-reduce.</summary>
internal interface IMessageCosts
{
    /// <summary>Wall time of a small all-reduce on loopback (two one-way hops of our software).</summary>
    double SmallWallMs { get; }

    /// <summary>Bytes a gradient float takes on the wire: 4, or 2 with bf16 compression.</summary>
    int BytesPerFloat { get; }

    double MessageCpuMs(double bytes);
}

/// <summary>
/// The data plane's own costs, measured with lone all-reduces of single buckets on loopback, every member
/// in this process (so the process's CPU time is the members' together): the CPU per message at each
/// measured message size (<see cref="BucketPoint.MessageCpuMs"/>), interpolated linearly in between and
/// extended past the largest along its last two points. No fitted formula: per message, the cost is not
/// one fixed part plus one per byte (a message that fits one chunk costs less per byte than one of many).
/// </summary>
internal sealed record BucketCosts(IReadOnlyList<BucketPoint> Points, double SmallWallMs) : IMessageCosts
{
    /// <summary>Floats of the small all-reduce: a few KB, so that its cost is the messages', not the bytes'.</summary>
    public const int SmallFloats = 1024;

    public int BytesPerFloat => Points[0].BytesPerFloat;

    public double MessageCpuMs(double bytes) => Interpolate(Points, bytes);

    /// <summary>CPU per byte sent (received and summed) of the largest messages measured, in ns.</summary>
    public double LargeByteCpuNs
    {
        get
        {
            var (a, b) = (Points[^2], Points[^1]);
            return (b.MessageCpuMs - a.MessageCpuMs) / (b.MessageBytes - a.MessageBytes) * 1e6;
        }
    }

    private static double Interpolate(IReadOnlyList<BucketPoint> points, double bytes)
    {
        if (bytes <= points[0].MessageBytes)
        {
            return points[0].MessageCpuMs;
        }

        var i = 1;
        while (i < points.Count - 1 && points[i].MessageBytes < bytes)
        {
            i++;
        }

        var (a, b) = (points[i - 1], points[i]);
        var slope = (b.MessageCpuMs - a.MessageCpuMs) / (b.MessageBytes - a.MessageBytes);
        return Math.Max(a.MessageCpuMs, a.MessageCpuMs + (slope * (bytes - a.MessageBytes)));
    }

    /// <summary>Rounds each size is measured in; every point is the median round (by CPU).</summary>
    public const int Rounds = 3;

    /// <summary>
    /// Measures the small all-reduce and every bucket size in <see cref="Rounds"/> interleaved rounds
    /// (all sizes, then all sizes again), each round a third of <paramref name="bytesPerPoint"/>, and keeps
    /// each size's median round by CPU: a few seconds of other load on the machine then spoil one round of
    /// some sizes, not the point. Runs of the model minutes apart had differed by up to 4 points at 8 nodes.
    /// </summary>
    internal static async Task<BucketCosts> MedianOfRoundsAsync(
        int members, IReadOnlyList<int> bucketFloats, long bytesPerPoint, int bytesPerFloat, Func<int, int, Task<(double Wall, double Cpu)>> run)
    {
        var sizes = bucketFloats.Order().Prepend(SmallFloats).ToList();
        var repeats = sizes.Select(f => f == SmallFloats ? 400 / Rounds : (int)Math.Clamp(bytesPerPoint / Rounds / (4L * f), 3, 2000)).ToList();
        var rounds = sizes.Select(_ => new List<(double Wall, double Cpu)>()).ToList();
        for (var round = 0; round < Rounds; round++)
        {
            for (var i = 0; i < sizes.Count; i++)
            {
                rounds[i].Add(await run(sizes[i], repeats[i]));
            }
        }

        var points = sizes.Select((f, i) =>
        {
            var median = rounds[i].OrderBy(r => r.Cpu).ElementAt(Rounds / 2);
            return new BucketPoint(members, f, repeats[i] * Rounds, median.Wall, median.Cpu, bytesPerFloat);
        }).ToList();
        return new BucketCosts(points, points[0].WallMs);
    }

    private static readonly ClusterSecret Secret = ClusterSecret.FromBytes(Encoding.UTF8.GetBytes("scaling-model-benchmark-secret-0123456789"), "benchmark");

    /// <param name="compression">The data plane's <c>cluster.gradient-compression</c>: with bf16 each float travels as 2 bytes, converted on sending and summed in float32 on receipt.</param>
    public static async Task<BucketCosts> MeasureAsync(int members, IReadOnlyList<int> bucketFloats, long bytesPerPoint, GradientCompression compression, CancellationToken cancellationToken)
    {
        var loggers = NullLoggerFactory.Instance;
        var transports = new List<TensorTransport>();
        var inbound = new List<PeerConnections>();
        var groups = new List<GradientGroup>();
        try
        {
            for (var r = 0; r < members; r++)
            {
                var identity = new NodeIdentity($"rnn://scaling{r}@127.0.0.1", 1);
                var transport = new TensorTransport(new TensorTransportOptions { Identity = identity, Host = "127.0.0.1", Port = 0 }, Secret, loggers, TimeProvider.System, RandomNumberGenerator.Create());
                await transport.StartAsync(cancellationToken);
                transports.Add(transport);
                inbound.Add(new PeerConnections(transport, loggers));
            }

            var list = transports.Select((t, r) => new GroupMember(r, t.Identity, t.LocalEndPoint)).ToList();
            var options = new AllReduceOptions { BucketFloats = bucketFloats.Max(), Compression = compression };
            var bytesPerFloat = compression == GradientCompression.BFloat16 ? 2 : 4;
            groups.AddRange(await Task.WhenAll(Enumerable.Range(0, members).Select(r =>
                GradientGroup.FormAsync(transports[r], inbound[r], "scaling-model", 1, r, list, options, loggers, TimeProvider.System, cancellationToken))));

            // Zeros: summing in place many times over would overflow anything else, and the data plane's
            // cost does not depend on the values (no compression, no non-finite checks on the wire).
            var buffers = Enumerable.Range(0, members).Select(_ => new float[bucketFloats.Max()]).ToArray();
            long step = 0;
            async Task<(double Wall, double Cpu)> Run(int floats, int repeats)
            {
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var started = Stopwatch.GetTimestamp();
                for (var i = 0; i < repeats; i++)
                {
                    step++;
                    await Task.WhenAll(groups.Select((g, r) => g.AllReduceAsync(buffers[r].AsMemory(0, floats), step, 0, 0, cancellationToken)));
                }

                var wall = Stopwatch.GetElapsedTime(started).TotalMilliseconds / repeats;
                return (wall, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / repeats);
            }

            // Warm-up, half a second per size: the tiered JIT (a first measurement of 16K floats ran the
            // checksum's quick-jitted code and cost twice the second), pooled buffers, socket windows.
            foreach (var floats in bucketFloats.Prepend(SmallFloats))
            {
                var warming = Stopwatch.StartNew();
                while (warming.Elapsed < TimeSpan.FromSeconds(0.5))
                {
                    await Run(floats, 3);
                }
            }

            return await MedianOfRoundsAsync(members, bucketFloats, bytesPerPoint, bytesPerFloat, Run);
        }
        finally
        {
            foreach (var g in groups)
            {
                await g.DisposeAsync();
            }

            foreach (var i in inbound)
            {
                await i.DisposeAsync();
            }

            foreach (var t in transports)
            {
                await t.DisposeAsync();
            }
        }
    }
}

/// <summary>The worse of several measurements at every message size: the data plane's cost per member should not depend on W.</summary>
internal sealed class WorstCosts(IReadOnlyList<BucketCosts> measured) : IMessageCosts
{
    public double SmallWallMs => measured.Max(m => m.SmallWallMs);

    public int BytesPerFloat => measured[0].BytesPerFloat;

    public double MessageCpuMs(double bytes) => measured.Max(m => m.MessageCpuMs(bytes));
}
