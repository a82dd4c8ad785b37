using RnnCluster.Model;
using RnnCluster.Torch;

namespace RnnCluster.Tests.Torch;

/// <summary>
/// A language model's gradient sink: during backward it hears which flat-buffer ranges are final (decoder
/// first, then recurrent layers top-down, the embedding when backward returns), the ranges tile the buffer
/// once, each is final when reported, and the taps change no gradient bit.
/// </summary>
public sealed class GradientTapTests
{
    private const int Steps = 5;

    /// <summary>Decoder blocks the tests' models report in (<c>cluster.decoder-gradient-blocks</c>; the default, 1, reports it whole).</summary>
    private const int Blocks = 4;
    private const int Streams = 3;

    public enum Variant
    {
        Lstm,
        Gru,
        LstmTied,
        LstmBf16,
    }

    [Theory]
    [InlineData(Variant.Lstm)]
    [InlineData(Variant.Gru)]
    [InlineData(Variant.LstmTied)]
    [InlineData(Variant.LstmBf16)]
    public void Reported_ranges_tile_the_gradient_buffer_once_decoder_first(Variant variant)
    {
        using var model = new RnnModel(Options(variant));
        var sink = new RecordingSink(model);
        model.GradientSink = sink;

        Window(model, salt: 1);

        var reports = sink.Reports;
        Assert.StartsWith("decoder", reports[0].Segment.Name, StringComparison.Ordinal);
        Assert.True(reports[0].DuringBackward);

        // An untied full-precision decoder is reported in blocks of rows while its backward runs; a tied
        // or bf16 one whole, by the tap at its input.
        var decoder = reports.Where(r => r.Segment.Name.StartsWith("decoder", StringComparison.Ordinal)).ToArray();
        Assert.Equal(variant is Variant.Lstm or Variant.Gru ? Blocks : 1, decoder.Length);
        Assert.All(decoder, r => Assert.True(r.DuringBackward));
        Assert.Equal(model.GradientSegments.Select(s => s.Name), reports.Select(r => r.Segment.Name));
        long next = 0;
        foreach (var r in reports.OrderBy(r => r.Segment.Offset))
        {
            Assert.Equal(next, r.Segment.Offset);
            Assert.True(r.Segment.Count > 0);
            next = r.Segment.Offset + r.Segment.Count;
        }

        Assert.Equal(model.ParameterCount, next);

        // Taps fire inside backward for the decoder and (full-precision cells) every layer; the embedding
        // (a tied decoder weight included) is final only when backward returns.
        var layers = reports.Where(r => r.Segment.Name.StartsWith("rnn.", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, layers.Length);
        Assert.All(layers, r => Assert.Equal(variant != Variant.LstmBf16, r.DuringBackward));
        Assert.False(reports[^1].DuringBackward);
        Assert.Equal("encoder", reports[^1].Segment.Name);
    }

    [Theory]
    [InlineData(Variant.Lstm)]
    [InlineData(Variant.Gru)]
    [InlineData(Variant.LstmTied)]
    [InlineData(Variant.LstmBf16)]
    public void A_range_holds_its_final_gradient_when_reported(Variant variant)
    {
        using var model = new RnnModel(Options(variant));
        var sink = new RecordingSink(model);
        model.GradientSink = sink;

        // Two windows into one buffer: the second backward adds to the first's gradients.
        Window(model, salt: 1);
        sink.Reports.Clear();
        Window(model, salt: 2);

        var final = model.GradientSpan;
        Assert.Equal(model.GradientSegments.Count, sink.Reports.Count);
        foreach (var r in sink.Reports)
        {
            var expected = final.Slice((int)r.Segment.Offset, (int)r.Segment.Count).ToArray();
            Assert.True(expected.SequenceEqual(r.Values), $"{r.Segment.Name} changed after it was reported");
            Assert.Contains(expected, g => g != 0);
        }
    }

    [Theory]
    [InlineData(Variant.Lstm)]
    [InlineData(Variant.Gru)]
    [InlineData(Variant.LstmTied)]
    [InlineData(Variant.LstmBf16)]
    public void Taps_change_no_gradient_bit(Variant variant)
    {
        using var plain = new RnnModel(Options(variant));
        using var tapped = new RnnModel(Options(variant));
        tapped.GradientSink = new RecordingSink(tapped);
        var statePlain = new float[Streams * plain.StateSizePerStream];
        var stateTapped = new float[Streams * tapped.StateSizePerStream];

        // Dropout on and state carried between windows: the taps must not shift the generator or the state.
        for (var salt = 1; salt <= 2; salt++)
        {
            var a = Window(plain, salt, statePlain);
            var b = Window(tapped, salt, stateTapped);
            Assert.Equal(a.LossSum, b.LossSum);
        }

        Assert.True(plain.GradientSpan.SequenceEqual(tapped.GradientSpan), "gradients differ with taps");
        Assert.Equal(statePlain, stateTapped);
    }

    /// <summary>
    /// The benchmark LM's shapes (vocabulary 10,000, 2x200, a worker's 35 x 10 window), where the matrix
    /// products run their blocked kernels: the decoder reported in blocks still gives libtorch's bits.
    /// </summary>
    [Fact]
    public void The_blocked_decoder_gives_libtorchs_bits_at_the_benchmark_LMs_size()
    {
        var arch = new ModelArchitecture(CellKind.Lstm, 2, EmbeddingSize: 200, HiddenSize: 200, VocabularySize: 10_000, TieWeights: false);
        var options = new ModelOptions(arch) { Seed = 3, InitRange = 0.1, DropoutEmbedding = 0.2, DropoutBetweenLayers = 0.2, DropoutOutput = 0.2, DecoderGradientBlocks = Blocks };
        using var plain = new RnnModel(options);
        using var blocked = new RnnModel(options);
        var sink = new RecordingSink(blocked);
        blocked.GradientSink = sink;
        const int steps = 35;
        const int streams = 10;
        var inputs = TinyModels.Ids(steps, streams, arch.VocabularySize, 1);
        var targets = TinyModels.Ids(steps, streams, arch.VocabularySize, 2);
        for (var pass = 0; pass < 2; pass++)
        {
            var a = plain.ForwardBackward<float>(inputs, targets, steps, streams, [], [], train: true, backward: true);
            var b = blocked.ForwardBackward<float>(inputs, targets, steps, streams, [], [], train: true, backward: true);
            Assert.Equal(a.LossSum, b.LossSum);
        }

        Assert.Equal(Blocks, sink.Reports.Count(r => r.Segment.Name.StartsWith("decoder.", StringComparison.Ordinal) && r.DuringBackward) / 2);
        Assert.True(plain.GradientSpan.SequenceEqual(blocked.GradientSpan), "the blocked decoder's gradients differ from libtorch's linear backward");
    }

    [Fact]
    public void The_decoder_is_reported_before_backward_returns()
    {
        using var model = new RnnModel(Options(Variant.Lstm));
        var embedding = model.Layout.Single(s => s.Name == "encoder.weight");
        var events = new List<string>();
        model.GradientSink = new CallbackSink((segment, during) =>
        {
            // The embedding's gradient is the last one backward writes: still zero means backward is running.
            var embeddingDone = model.GradientSpan.Slice((int)embedding.Offset, (int)embedding.Count).ContainsAnyExcept(0f);
            events.Add($"{segment.Name}:{(during ? "during" : "after")}:{(embeddingDone ? "embedding-done" : "embedding-pending")}");
        });

        model.ZeroGradients();
        Window(model, salt: 3);
        events.Add("returned");

        Assert.Equal(
        [
            "decoder.0:during:embedding-pending",
            "decoder.1:during:embedding-pending",
            "decoder.2:during:embedding-pending",
            "decoder.3:during:embedding-pending",
            "rnn.layer1:during:embedding-pending",
            "rnn.layer0:during:embedding-pending",
            "encoder:after:embedding-done",
            "returned",
        ], events);
    }

    [Fact]
    public void A_forward_without_backward_reports_nothing()
    {
        using var model = new RnnModel(Options(Variant.Lstm));
        var sink = new RecordingSink(model);
        model.GradientSink = sink;
        var ids = TinyModels.Ids(Steps, Streams, 11, 4);

        model.ForwardBackward<float>(ids, ids, Steps, Streams, [], [], train: false, backward: false);

        Assert.Empty(sink.Reports);
    }

    [Fact]
    public void A_failing_sink_is_rethrown_after_backward_and_the_model_stays_usable()
    {
        using var model = new RnnModel(Options(Variant.Lstm));
        var calls = 0;
        model.GradientSink = new CallbackSink((_, _) =>
        {
            calls++;
            throw new InvalidOperationException("sink down");
        });

        var e = Assert.Throws<InvalidOperationException>(() => Window(model, salt: 1));
        Assert.Equal("sink down", e.Message);
        Assert.Equal(1, calls);

        var sink = new RecordingSink(model);
        model.GradientSink = sink;
        model.ZeroGradients();
        Window(model, salt: 1);
        Assert.Equal(model.GradientSegments.Count, sink.Reports.Count);
    }

    [Fact]
    public void The_segments_are_listed_in_report_order_before_any_backward()
    {
        using var model = new RnnModel(Options(Variant.Lstm));
        var segments = model.GradientSegments;
        Assert.Equal(["decoder.0", "decoder.1", "decoder.2", "decoder.3", "rnn.layer1", "rnn.layer0", "encoder"], segments.Select(s => s.Name));
        Assert.Equal(0, segments[^1].Offset);

        // Blocks of whole vocabulary rows (11 rows: 2, 3, 3, 3), the bias with the last one.
        var weight = model.Layout.Single(s => s.Name == "decoder.weight");
        var hidden = model.Architecture.HiddenSize;
        Assert.Equal([weight.Offset, weight.Offset + (2 * hidden), weight.Offset + (5 * hidden), weight.Offset + (8 * hidden)], segments.Take(4).Select(s => s.Offset));
        Assert.Equal(model.ParameterCount, segments[3].Offset + segments[3].Count);
    }

    [Fact]
    public void One_decoder_block_reports_the_decoder_whole_from_the_tap_at_its_input()
    {
        Assert.Equal(1, new ModelOptions(new ModelArchitecture(CellKind.Lstm, 1, 4, 4, 11, false)).DecoderGradientBlocks);
        using var model = new RnnModel(Options(Variant.Lstm) with { DecoderGradientBlocks = 1 });
        Assert.Equal(["decoder", "rnn.layer1", "rnn.layer0", "encoder"], model.GradientSegments.Select(s => s.Name));
        var sink = new RecordingSink(model);
        model.GradientSink = sink;

        Window(model, salt: 1);

        Assert.Equal("decoder", sink.Reports[0].Segment.Name);
        Assert.True(sink.Reports[0].DuringBackward);
    }

    private static ModelOptions Options(Variant variant)
    {
        var cell = variant == Variant.Gru ? CellKind.Gru : CellKind.Lstm;
        var tied = variant == Variant.LstmTied;
        var arch = new ModelArchitecture(cell, 2, EmbeddingSize: 4, HiddenSize: tied ? 4 : 5, VocabularySize: 11, TieWeights: tied);
        return new ModelOptions(arch)
        {
            Seed = 7,
            InitRange = 0.5,
            DropoutEmbedding = 0.1,
            DropoutBetweenLayers = 0.2,
            DropoutOutput = 0.1,
            Compute = variant == Variant.LstmBf16 ? ComputePrecision.BFloat16 : ComputePrecision.Native,
            DecoderGradientBlocks = Blocks,
        };
    }

    private static WindowResult Window(RnnModel model, int salt, float[]? state = null)
    {
        var inputs = TinyModels.Ids(Steps, Streams, model.Architecture.VocabularySize, salt);
        var targets = TinyModels.Ids(Steps, Streams, model.Architecture.VocabularySize, salt + 5);
        var stateIn = state is null ? [] : state.ToArray();
        return model.ForwardBackward<float>(inputs, targets, Steps, Streams, stateIn, state ?? [], train: true, backward: true);
    }

    private sealed record Report(GradientSegment Segment, bool DuringBackward, float[] Values);

    /// <summary>Copies each range's gradients at the moment it is reported.</summary>
    private sealed class RecordingSink(RnnModel model) : IGradientReadySink
    {
        public List<Report> Reports { get; } = [];

        public void GradientsReady(GradientSegment segment, bool duringBackward) =>
            Reports.Add(new Report(segment, duringBackward, model.GradientSpan.Slice((int)segment.Offset, (int)segment.Count).ToArray()));
    }

    private sealed class CallbackSink(Action<GradientSegment, bool> callback) : IGradientReadySink
    {
        public void GradientsReady(GradientSegment segment, bool duringBackward) => callback(segment, duringBackward);
    }
}
