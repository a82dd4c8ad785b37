using System.Diagnostics;
using System.Globalization;
using RnnCluster.Model;
using RnnCluster.Torch;

// The benchmark LM of bench/lm-benchmark.sh (2x200 LSTM, vocabulary 10k, untied: 4.65 M parameters,
// 20 streams, bptt 35, no dropout) on one intra-op thread. For each gradient segment: the median time
// from the sink hearing of it to backward returning (when the last, untapped segment is reported), which
// is the communication time that segment's all-reduce can overlap with backward.
// Arguments: [passes (default 20)] [vocabulary (default 10000)].
var passes = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20;
var vocab = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10000;
const int steps = 35, streams = 20, warmUp = 3;

TorchSharp.torch.set_num_threads(1);
var arch = new ModelArchitecture(CellKind.Lstm, 2, EmbeddingSize: 200, HiddenSize: 200, VocabularySize: vocab, TieWeights: false);
using var model = new RnnModel(new ModelOptions(arch) { Seed = 1 });
var sink = new TimingSink();
model.GradientSink = sink;

var random = new Random(1);
var inputs = new long[steps * streams];
var targets = new long[steps * streams];
var state = new float[streams * model.StateSizePerStream];
var lead = model.GradientSegments.ToDictionary(s => s.Name, _ => new List<double>());
var total = new List<double>();
var untapped = new List<double>();
for (var pass = 0; pass < warmUp + passes; pass++)
{
    for (var i = 0; i < inputs.Length; i++)
    {
        inputs[i] = random.Next(vocab);
        targets[i] = random.Next(vocab);
    }

    // The same window without a sink first (no taps built): the cost of the taps is the difference.
    var stateIn = state.ToArray();
    model.GradientSink = null;
    model.ZeroGradients();
    var started = Stopwatch.GetTimestamp();
    model.ForwardBackward<float>(inputs, targets, steps, streams, stateIn, state, train: true, backward: true);
    var plain = Stopwatch.GetElapsedTime(started).TotalMilliseconds;

    model.GradientSink = sink;
    sink.Clear();
    model.ZeroGradients();
    started = Stopwatch.GetTimestamp();
    model.ForwardBackward<float>(inputs, targets, steps, streams, stateIn, state, train: true, backward: true);
    var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    if (pass < warmUp)
    {
        continue;
    }

    untapped.Add(plain);

    // Backward returned when the first segment no tap reported was reported (right after loss.backward()).
    var returned = sink.Reports.First(r => !r.During).Timestamp;
    foreach (var r in sink.Reports)
    {
        lead[r.Segment.Name].Add(Stopwatch.GetElapsedTime(r.Timestamp, returned).TotalMilliseconds);
    }

    total.Add(elapsed);
}

Console.WriteLine($"LM 2x200 LSTM, vocab {vocab}, {model.ParameterCount} parameters, {streams} streams x bptt {steps}, 1 thread, {passes} passes (+{warmUp} warm-up)");
Console.WriteLine($"forward+backward median {Median(total):F1} ms (min {total.Min():F1}) with the sink, {Median(untapped):F1} ms (min {untapped.Min():F1}) without");
Console.WriteLine($"{"segment",-12} {"floats",10} {"tap->backward returns, median ms",34} {"min",7} {"max",7}");
foreach (var s in model.GradientSegments)
{
    var l = lead[s.Name];
    Console.WriteLine($"{s.Name,-12} {s.Count,10} {Median(l),34:F2} {l.Min(),7:F2} {l.Max(),7:F2}");
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
}

/// <summary>Time-stamps each report; does nothing else, so it adds no time to backward.</summary>
internal sealed class TimingSink : IGradientReadySink
{
    public List<(GradientSegment Segment, bool During, long Timestamp)> Reports { get; } = [];

    public void Clear() => Reports.Clear();

    public void GradientsReady(GradientSegment segment, bool duringBackward) => Reports.Add((segment, duringBackward, Stopwatch.GetTimestamp()));
}
