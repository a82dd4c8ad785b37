using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.AllReduce;
using RnnCluster.DataPlane.Tensors;

namespace RnnCluster.Bench.ScalingModel;

/// <summary>One measured point: a lone all-reduce of one bucket among <see cref="Members"/> members in this process.</summary>
internal sealed record BucketPoint(int Members, int Floats, int Repeats, double WallMs, double CpuMs);

/// <summary>
/// The data plane's own costs, fitted from all-reduces of single buckets on loopback, every member in
/// this process (so the process's CPU time is the members' together). Over W members a bucket of b floats
/// makes each member send W-1 messages per phase (reduce-scatter, all-gather) of b/W floats. A small
/// all-reduce (<see cref="SmallFloats"/>) gives the CPU per message, <see cref="MessageCpuMs"/> = its CPU /
/// (2 W (W-1)); the CPU of the larger buckets beyond it, fitted as K b, gives the CPU per byte sent (its
/// receipt and its sum included), <see cref="ByteCpuNs"/> = K / (8 (W-1)). (A straight-line fit of all the
/// points would put part of the large buckets' cost in the intercept and overstate the per-message cost.)
/// </summary>
internal sealed record BucketCosts(int Members, IReadOnlyList<BucketPoint> Points, double MessageCpuMs, double ByteCpuNs, double SmallWallMs)
{
    /// <summary>Floats of the small all-reduce: a few KB, so that its cost is the messages', not the bytes'.</summary>
    public const int SmallFloats = 1024;

    private static readonly ClusterSecret Secret = ClusterSecret.FromBytes(Encoding.UTF8.GetBytes("scaling-model-benchmark-secret-0123456789"), "benchmark");

    public static async Task<BucketCosts> MeasureAsync(int members, IReadOnlyList<int> bucketFloats, long bytesPerPoint, CancellationToken cancellationToken)
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
            var options = new AllReduceOptions { BucketFloats = bucketFloats.Max() };
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

            // Warm-up: JIT, pooled buffers, socket windows.
            foreach (var floats in bucketFloats)
            {
                await Run(floats, 3);
            }

            var small = await Run(SmallFloats, 400);
            var points = new List<BucketPoint>();
            foreach (var floats in bucketFloats)
            {
                var repeats = (int)Math.Clamp(bytesPerPoint / (4L * floats), 5, 2000);
                var (wall, cpu) = await Run(floats, repeats);
                points.Add(new BucketPoint(members, floats, repeats, wall, cpu));
            }

            var k = Stats.ThroughOrigin([.. points.Select(p => (double)(p.Floats - SmallFloats))], [.. points.Select(p => p.CpuMs - small.Cpu)]);
            var messageCpuMs = small.Cpu / (2.0 * members * (members - 1));
            var byteCpuNs = k * 1e6 / (8.0 * (members - 1));
            return new BucketCosts(members, points, messageCpuMs, byteCpuNs, small.Wall);
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
