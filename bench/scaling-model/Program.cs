using System.Globalization;
using RnnCluster.Bench.ScalingModel;

// Issue #10's model of N nodes: measure a worker's compute profile and the data plane's per-bucket costs
// here, then predict the step and scaling efficiency of N nodes on a given link. See NodeModel for what is
// modelled; bench/scaling-model.sh runs it and docs/all-reduce-performance.md reads its output.
var help = args.Contains("--help");
var options = help ? null : Arguments.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("""
        usage: ScalingModel [--streams 10] [--bptt 35] [--vocabulary 10000] [--passes 20] [--members 2,3]
                            [--buckets 16384,65536,262144,1048576,4194304] [--nodes 2,4,8,16,32] [--gbit 25]
                            [--latency-us 20] [--coordinator-ms 2.1] [--bucket-floats 1048576] [--dense]
                            [--megabytes-per-point 400] [--decoder-blocks 4] [--compression none|bf16] [--corpus DIR]
        --compression is cluster.gradient-compression: bf16 measures our data plane sending 2 bytes per
        gradient float (the floor stays float32); it costs validation loss (README, "bf16 gradients").
        --streams is one worker's share of the batch (the 2-worker benchmark's 20 streams / 2);
        --decoder-blocks is cluster.decoder-gradient-blocks: 4, the setting for nodes that leave the data
        plane a core (what the model assumes); 1 reports the decoder whole, the product's default.
        --corpus DIR: count the embedding rows a step of N nodes looks up in DIR/train.txt (bench/scaling-model.sh
        passes the benchmark's corpus); without it, or with --dense, tokens are taken as uniformly random.
        --coordinator-ms is the coordinator's part of a 2-worker step (broadcast + averaging + apply in
        bench/cluster-benchmark.sh's all-reduce row).
        """);
    return help ? 0 : 2;
}

Console.WriteLine($"Measuring one worker's compute: 2x200 LSTM LM, vocabulary {options.Vocabulary}, {options.Streams} streams x bptt {options.Bptt}, 1 thread, {options.Passes} passes, decoder gradients in {options.DecoderBlocks} block(s)");
var compute = ComputeProfile.Measure(options.Vocabulary, options.Streams, options.Bptt, options.Passes, options.DecoderBlocks, seed: 1);
Console.WriteLine($"  {compute.Parameters:N0} parameters ({compute.Parameters * 4 / 1e6:F2} MB fp32)");
Console.WriteLine($"  forward + backward {compute.ForwardBackwardMs:F1} ms (untapped {compute.UntappedMs:F1}), scale + clip {compute.ClipMs:F1} ms, SGD step {compute.OptimizerMs:F1} ms: a replica alone {compute.LocalMs:F1} ms per step");
Console.WriteLine($"  {"segment",-10} {"floats",10} {"ready before backward returns (ms)",36}");
foreach (var s in compute.Segments)
{
    Console.WriteLine($"  {s.Name,-10} {s.Floats,10} {s.LeadMs,36:F2}");
}

Console.WriteLine();
Console.WriteLine($"Measuring the data plane's costs: lone all-reduces of one bucket on loopback, every member in this process, cluster.gradient-compression = {(options.Compression == RnnCluster.DataPlane.AllReduce.GradientCompression.BFloat16 ? "bf16" : "none")}");
Console.WriteLine($"  (an all-reduce among W is 2 W (W-1) messages of a shard, {(options.Compression == RnnCluster.DataPlane.AllReduce.GradientCompression.BFloat16 ? 2 : 4)} x floats / W bytes; each message's CPU covers sending, receipt and sum;");
Console.WriteLine($"  each point the median by CPU of {BucketCosts.Rounds} rounds, all sizes in turn, each round a third of the repeats)");
Console.WriteLine($"  {"members",7} {"floats",9} {"repeats",7} {"wall ms",9} {"CPU ms",9} {"message KB",10} {"CPU/message us",14} {"Gbit/s of a core",16}");
var measured = new List<BucketCosts>();
foreach (var members in options.Members)
{
    using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(5));
    var costs = await BucketCosts.MeasureAsync(members, options.Buckets, bytesPerPoint: (long)options.MegabytesPerPoint << 20, options.Compression, limit.Token);
    foreach (var p in costs.Points)
    {
        Console.WriteLine($"  {p.Members,7} {p.Floats,9} {p.Repeats,7} {p.WallMs,9:F3} {p.CpuMs,9:F3} {p.MessageBytes / 1024,10:F1} {p.MessageCpuMs * 1e3,14:F1} {p.MessageBytes * 8 / (p.MessageCpuMs * 1e6),16:F2}");
    }

    Console.WriteLine($"  W={members}: largest messages {costs.LargeByteCpuNs:F3} ns of CPU per byte ({8 / costs.LargeByteCpuNs:F1} Gbit/s of one core)");
    measured.Add(costs);
}

// The worse measurement at every message size: the data plane's CPU per member should not depend on W.
var used = new WorstCosts(measured);
Console.WriteLine($"  the model takes the worse of the W = {string.Join(", ", options.Members)} figures at each message size; at 8 nodes a {options.BucketFloats:N0}-float bucket's message is {(double)used.BytesPerFloat * options.BucketFloats / 8 / 1024:F0} KB: {used.MessageCpuMs((double)used.BytesPerFloat * options.BucketFloats / 8) * 1e3:F0} us");

Console.WriteLine();
Console.WriteLine("The floor: the same W=2 all-reduces over one plain TCP connection, read on a thread of each member's own into its buffer");
Console.WriteLine("  (no framing, checksum, authentication or async machinery: bench/scaling-model/SocketFloor.cs)");
var floor = SocketFloor.Measure(options.Buckets, bytesPerPoint: (long)options.MegabytesPerPoint << 20);
var ours = measured.FirstOrDefault(m => m.Points[0].Members == 2);
Console.WriteLine($"  {"floats",9} {"message KB",10} {"ours CPU/message us",19} {"floor CPU/message us",20} {"ours / floor",12} {"floor wall ms",13}");
foreach (var p in floor.Points)
{
    var mine = ours?.Points.FirstOrDefault(o => o.Floats == p.Floats);
    Console.WriteLine($"  {p.Floats,9} {p.MessageBytes / 1024,10:F1} {(mine is null ? "-" : (mine.MessageCpuMs * 1e3).ToString("F1", CultureInfo.InvariantCulture)),19} {p.MessageCpuMs * 1e3,20:F1} {(mine is null ? "-" : (mine.MessageCpuMs / p.MessageCpuMs).ToString("F2", CultureInfo.InvariantCulture)),12} {p.WallMs,13:F3}");
}

Console.WriteLine();
var uniformRows = options.Dense ? null : CorpusRows.Uniform(options.Vocabulary, options.Streams, options.Bptt);
var rows = options.Dense || options.Corpus is null ? uniformRows : CorpusRows.Measure(options.Corpus, options.Streams, options.Bptt);
var embedding = (rows is null ? "dense embedding" : $"sparse embedding rows ({rows.Description})") + (used.BytesPerFloat == 2 ? ", bf16 gradients on the wire" : "");
var link = new Link(options.Gbit, options.LatencyUs, options.CoordinatorMs);
Console.WriteLine($"Predicted: {options.Gbit:G} Gbit/s, {options.LatencyUs:G} us one-way network latency, buckets of {options.BucketFloats:N0} floats, {embedding}, coordinator {options.CoordinatorMs:G} ms per 2-worker step");
Console.WriteLine("  efficiency = one replica alone / a node's step, each node computing the same window (weak scaling);");
Console.WriteLine("  'coordinator fixed' keeps its 2-worker time per step, 'per worker' grows it with N");
if (rows is not null)
{
    Console.WriteLine($"  distinct rows a step looks up: {string.Join(", ", options.Nodes.Select(n => $"{n} nodes {rows.Touched(n):F0}"))}");
}

Print(options.Nodes.Select(n => NodeModel.Predict(compute, used, link, n, options.BucketFloats, rows)));
if (rows is not null && !ReferenceEquals(rows, uniformRows))
{
    var worst = NodeModel.Predict(compute, used, link, 8, options.BucketFloats, uniformRows);
    Console.WriteLine($"  with uniform random tokens instead (a worst case: {uniformRows!.Touched(8):F0} rows at 8 nodes): 8 nodes exposed {worst.ExposedMs:F2} ms, efficiency {worst.Efficiency:P1}");
}

Console.WriteLine();
Console.WriteLine($"At 8 nodes ({options.Gbit:G} Gbit/s), by bucket size and by the cores the data plane may use:");
Console.WriteLine($"  {"bucket floats",13} {"cores",5} {"comm ms",8} {"exposed ms",10} {"hidden",7} {"efficiency",10}");
foreach (var (bucket, cores) in new[] { (65536, 1), (262144, 1), (1048576, 1), (4194304, 1), (options.BucketFloats, 2), (options.BucketFloats, 4), (options.BucketFloats, 7) })
{
    var p = NodeModel.Predict(compute, used, link with { DataPlaneCores = cores }, 8, bucket, rows);
    Console.WriteLine($"  {bucket,13:N0} {cores,5} {p.CommunicationMs,8:F2} {p.ExposedMs,10:F2} {p.Hidden,7:P0} {p.Efficiency,10:P1}");
}

Console.WriteLine();
Console.WriteLine($"The same prediction ({options.Gbit:G} Gbit/s) on a data plane that cost what the floor costs (float32 on the wire):");
Print(options.Nodes.Select(n => NodeModel.Predict(compute, floor, link, n, options.BucketFloats, rows)));

Console.WriteLine();
Console.WriteLine("Check against this machine: 2 nodes on loopback (no wire limit, no network latency), the same model");
var loopback = NodeModel.Predict(compute, used, new Link(double.PositiveInfinity, 0, options.CoordinatorMs), 2, options.BucketFloats, rows);
Print([loopback]);
Console.WriteLine($"  predicted all-reduce exposed after backward + reply and command: {loopback.ExposedMs + loopback.ControlMs:F1} ms (bench/cluster-benchmark.sh reports the measured figure as transfer - peer wait)");
return 0;

static void Print(IEnumerable<Prediction> predictions)
{
    Console.WriteLine($"  {"nodes",5} {"MB/step/worker",14} {"comm ms",8} {"exposed ms",10} {"hidden",7} {"hops ms",8} {"step ms",8} {"efficiency",10} {"(coordinator per worker)",25}");
    foreach (var p in predictions)
    {
        Console.WriteLine($"  {p.Nodes,5} {p.BytesPerWorker / 1e6,14:F2} {p.CommunicationMs,8:F2} {p.ExposedMs,10:F2} {p.Hidden,7:P0} {p.ControlMs,8:F2} {p.StepMs,8:F1} {p.Efficiency,10:P1} {$"{p.StepLinearMs:F1} ms, {p.EfficiencyLinear:P1}",25}");
    }
}

internal sealed record Arguments(
    int Streams, int Bptt, int Vocabulary, int Passes, IReadOnlyList<int> Members, IReadOnlyList<int> Buckets, IReadOnlyList<int> Nodes,
    double Gbit, double LatencyUs, double CoordinatorMs, int BucketFloats, bool Dense, int MegabytesPerPoint, int DecoderBlocks,
    RnnCluster.DataPlane.AllReduce.GradientCompression Compression = RnnCluster.DataPlane.AllReduce.GradientCompression.None, string? Corpus = null)
{
    /// <summary>The options, or null (after saying which) when one is unknown or malformed.</summary>
    public static Arguments? Parse(string[] args)
    {
        var option = "";
        try
        {
            return TryParse(args, ref option);
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
        {
            Console.Error.WriteLine($"ScalingModel: {option}: {e.Message}");
            return null;
        }
    }

    private static Arguments? TryParse(string[] args, ref string option)
    {
        var a = new Arguments(10, 35, 10000, 20, [2, 3], [16384, 65536, 262144, 1048576, 4194304], [2, 4, 8, 16, 32], 25, 20, 2.1, 1 << 20, false, 400, 4);
        for (var i = 0; i < args.Length; i++)
        {
            option = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException("needs a value");
            static int[] Ints(string s) => [.. s.Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture))];
            static double Number(string s) => double.Parse(s, CultureInfo.InvariantCulture);
            a = args[i] switch
            {
                "--streams" => a with { Streams = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--bptt" => a with { Bptt = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--vocabulary" => a with { Vocabulary = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--passes" => a with { Passes = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--members" => a with { Members = Ints(Next()) },
                "--buckets" => a with { Buckets = Ints(Next()) },
                "--nodes" => a with { Nodes = Ints(Next()) },
                "--gbit" => a with { Gbit = Number(Next()) },
                "--latency-us" => a with { LatencyUs = Number(Next()) },
                "--coordinator-ms" => a with { CoordinatorMs = Number(Next()) },
                "--bucket-floats" => a with { BucketFloats = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--dense" => a with { Dense = true },
                "--megabytes-per-point" => a with { MegabytesPerPoint = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--decoder-blocks" => a with { DecoderBlocks = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--corpus" => a with { Corpus = Next() },
                "--compression" => a with
                {
                    Compression = Next() switch
                    {
                        "none" => RnnCluster.DataPlane.AllReduce.GradientCompression.None,
                        "bf16" => RnnCluster.DataPlane.AllReduce.GradientCompression.BFloat16,
                        _ => throw new ArgumentException("none or bf16"),
                    },
                },
                _ => null,
            };
            if (a is null)
            {
                Console.Error.WriteLine($"ScalingModel: unknown option {args[i]}");
                return null;
            }
        }

        var problem =
            !a.Members.All(m => m >= 2) ? "--members: every group needs at least 2 members"
            : a.Buckets.Count == 0 || !a.Buckets.All(b => b > BucketCosts.SmallFloats) ? $"--buckets: sizes above the {BucketCosts.SmallFloats}-float small all-reduce"
            : !a.Nodes.All(n => n >= 2) ? "--nodes: at least 2 each"
            : a.MegabytesPerPoint <= 0 ? "--megabytes-per-point: positive"
            : a.DecoderBlocks < 1 ? "--decoder-blocks: at least 1"
            : a.Corpus is { } dir && !File.Exists(Path.Combine(dir, "train.txt")) ? $"--corpus: {Path.Combine(dir, "train.txt")} does not exist"
            : null;
        if (problem is not null)
        {
            Console.Error.WriteLine($"ScalingModel: {problem}");
            return null;
        }

        return a;
    }
}
