using System.Diagnostics;
using RnnCluster.Model;
using RnnCluster.Torch;

namespace RnnCluster.Bench.ScalingModel;

/// <summary>When one segment's gradients are final, as the time before backward returns (what its all-reduce can overlap).</summary>
internal sealed record SegmentReady(string Name, long Floats, double LeadMs);

/// <summary>
/// One worker's share of a step, measured on this machine with one intra-op thread: forward + backward
/// of its window, the scale-and-clip pass and the optimizer step every replica runs for itself, and, per
/// gradient segment, how long before backward returns its tap fired.
/// </summary>
internal sealed record ComputeProfile(
    long Parameters, int Vocabulary, int EmbeddingWidth, int Streams, int Bptt,
    double ForwardBackwardMs, double UntappedMs, double ClipMs, double OptimizerMs, IReadOnlyList<SegmentReady> Segments)
{
    /// <summary>What a replica computes per step alone: the baseline of the scaling efficiency.</summary>
    public double LocalMs => ForwardBackwardMs + ClipMs + OptimizerMs;

    /// <summary>The benchmark LM of bench/lm-benchmark.sh and bench/cluster-benchmark.sh (2x200 LSTM, untied, no dropout).</summary>
    /// <param name="decoderBlocks">cluster.decoder-gradient-blocks: how the decoder reports its gradients.</param>
    public static ComputeProfile Measure(int vocabulary, int streams, int bptt, int passes, int decoderBlocks, int seed)
    {
        const int warmUp = 3;
        TorchSharp.torch.set_num_threads(1);
        var arch = new ModelArchitecture(CellKind.Lstm, 2, EmbeddingSize: 200, HiddenSize: 200, VocabularySize: vocabulary, TieWeights: false);
        using var model = new RnnModel(new ModelOptions(arch) { Seed = (ulong)seed, DecoderGradientBlocks = decoderBlocks });
        using var optimizer = new Optimizer(model, new OptimizerOptions(OptimizerAlgorithm.Sgd));
        var sink = new TimingSink();
        var random = new Random(seed);
        var inputs = new long[bptt * streams];
        var targets = new long[bptt * streams];
        var state = new float[streams * model.StateSizePerStream];
        var lead = model.GradientSegments.ToDictionary(s => s.Name, _ => new List<double>());
        List<double> tapped = [], untapped = [], clip = [], step = [];
        for (var pass = 0; pass < warmUp + passes; pass++)
        {
            for (var i = 0; i < inputs.Length; i++)
            {
                inputs[i] = random.Next(vocabulary);
                targets[i] = random.Next(vocabulary);
            }

            // The same window without a sink too (no taps built): what the taps cost.
            var stateIn = state.ToArray();
            model.GradientSink = null;
            model.ZeroGradients();
            var started = Stopwatch.GetTimestamp();
            model.ForwardBackward<float>(inputs, targets, bptt, streams, stateIn, state, train: true, backward: true);
            var plain = Stopwatch.GetElapsedTime(started).TotalMilliseconds;

            model.GradientSink = sink;
            sink.Clear();
            model.ZeroGradients();
            started = Stopwatch.GetTimestamp();
            model.ForwardBackward<float>(inputs, targets, bptt, streams, stateIn, state, train: true, backward: true);
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            model.GradientSink = null;

            started = Stopwatch.GetTimestamp();
            model.ScaleAndClipGradients(1.0 / inputs.Length, 0.25);
            var clipped = Stopwatch.GetTimestamp();
            optimizer.Step(model, 0.01);
            var applied = Stopwatch.GetTimestamp();
            if (pass < warmUp)
            {
                continue;
            }

            // Backward returned when the first segment no tap reported was reported (right after loss.backward()).
            var returned = sink.Reports.First(r => !r.During).Timestamp;
            foreach (var r in sink.Reports)
            {
                lead[r.Segment.Name].Add(Stopwatch.GetElapsedTime(r.Timestamp, returned).TotalMilliseconds);
            }

            tapped.Add(elapsed);
            untapped.Add(plain);
            clip.Add(Stopwatch.GetElapsedTime(started, clipped).TotalMilliseconds);
            step.Add(Stopwatch.GetElapsedTime(clipped, applied).TotalMilliseconds);
        }

        return new ComputeProfile(
            model.ParameterCount, vocabulary, arch.EmbeddingSize, streams, bptt,
            Stats.Median(tapped), Stats.Median(untapped), Stats.Median(clip), Stats.Median(step),
            [.. model.GradientSegments.Select(s => new SegmentReady(s.Name, s.Count, Stats.Median(lead[s.Name])))]);
    }

    private sealed class TimingSink : IGradientReadySink
    {
        public List<(GradientSegment Segment, bool During, long Timestamp)> Reports { get; } = [];

        public void Clear() => Reports.Clear();

        public void GradientsReady(GradientSegment segment, bool duringBackward) => Reports.Add((segment, duringBackward, Stopwatch.GetTimestamp()));
    }
}

internal static class Stats
{
    public static double Median(IReadOnlyCollection<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
