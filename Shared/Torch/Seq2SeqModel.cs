using TorchSharp;
using static TorchSharp.torch;

namespace RnnCluster.Torch;

/// <summary>
/// An encoder–decoder on TorchSharp: a recurrent encoder over the source, a recurrent decoder started
/// from the encoder's final states (through a learned bridge when the encoder is bidirectional), trained
/// with teacher forcing and decoded greedily or by beam search.
/// Parameters and gradients are <see cref="TorchModel"/>'s flat buffers. Not thread-safe: one caller at a time.
/// </summary>
public sealed class Seq2SeqModel : EncoderModel
{
    private readonly RecurrentStack _decoder;
    private readonly Tensor _decoderEmbedding;
    private readonly Tensor _outputWeight;
    private readonly Tensor _outputBias;
    private readonly (Tensor Weight, Tensor Bias)? _bridge;
    private readonly (Tensor Weight, Tensor Bias)? _bridgeCell;

    public Seq2SeqModel(Seq2SeqOptions options)
        : base(options, options.Encoder, "encoder_embedding.weight", "encoder.")
    {
        Options = options;
        var e = options.Encoder;
        var lstm = e.Cell == Model.CellKind.Lstm;
        if (e.Bidirectional)
        {
            AddLinear("bridge.", 2 * e.HiddenSize, e.HiddenSize);
            if (lstm)
            {
                AddLinear("bridge_cell.", 2 * e.HiddenSize, e.HiddenSize);
            }
        }

        AddEntry("decoder_embedding.weight", [options.TargetVocabularySize, options.DecoderEmbeddingSize], new InitRule(options.InitRange));
        _decoder = AddStack("decoder.", e.Cell, e.Layers, options.DecoderEmbeddingSize, e.HiddenSize, 1);
        AddLinear("output.", e.HiddenSize, options.TargetVocabularySize);
        Build(EncoderStack, _decoder);
        if (e.Bidirectional)
        {
            _bridge = (Parameter("bridge.weight"), Parameter("bridge.bias"));
            if (lstm)
            {
                _bridgeCell = (Parameter("bridge_cell.weight"), Parameter("bridge_cell.bias"));
            }
        }

        _decoderEmbedding = Parameter("decoder_embedding.weight");
        _outputWeight = Parameter("output.weight");
        _outputBias = Parameter("output.bias");
    }

    public new Seq2SeqOptions Options { get; }

    /// <summary>
    /// Teacher-forced forward (and, when <paramref name="backward"/>, backward): summed cross-entropy of the
    /// decoder targets that are not -1, their count and how many the argmax got right. Gradients of the loss
    /// SUM are added to the gradient buffer.
    /// </summary>
    public BatchResult ForwardBackward(PaddedBatch source, DecoderBatch target, bool train, bool backward)
    {
        CheckPair(source, target);
        var layout = CheckBatch(source, target, withTargets: true);
        using var scope = NewDisposeScope();
        using var grad = GradientMode(backward);
        var logits = TeacherForced(source, target, layout, train);
        return Score(logits, Ids(target.Targets, target.Steps, target.Count).reshape(-1), backward);
    }

    /// <summary>Teacher-forced decoder scores <c>[target.Steps, target.Count, TargetVocabularySize]</c> before the softmax, without dropout.</summary>
    public void DecoderLogits<T>(PaddedBatch source, DecoderBatch target, Span<T> logits)
        where T : unmanaged
    {
        CheckPair(source, target);
        CheckElement<T>();
        CheckLength(logits.Length, (long)target.Steps * target.Count * Options.TargetVocabularySize, nameof(logits));
        var layout = CheckBatch(source, target, withTargets: false);
        using var scope = NewDisposeScope();
        using var grad = GradientMode(backward: false);
        CopyOut(TeacherForced(source, target, layout, train: false), logits);
    }

    /// <summary>
    /// Greedy (<see cref="DecodeOptions.BeamWidth"/> 1) or beam-search output for every source. Scores are
    /// total log-probabilities, not length-normalised; a wider beam never returns a lower score than greedy
    /// (the greedy hypothesis competes).
    /// </summary>
    public DecodedBatch Decode(PaddedBatch source, DecodeOptions options)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BeamWidth, 1);
        var vocabulary = Options.TargetVocabularySize;
        if (options.Bos < 0 || options.Bos >= vocabulary || options.Eos < 0 || options.Eos >= vocabulary)
        {
            throw new TorchArgumentException($"bos {options.Bos} and eos {options.Eos} must be in [0, {vocabulary})");
        }

        var layout = LayoutOf(source, "source token id");
        using var scope = NewDisposeScope();
        using var grad = GradientMode(backward: false);
        var (h, c) = DecoderStart(source, layout, train: false);
        var best = BeamSearch(h, c, options.Bos, options.Eos, options.MaxLength, options.BeamWidth);
        if (options.BeamWidth > 1)
        {
            // Beam search can prune the greedy path and end below it; letting the greedy hypothesis compete
            // costs one more narrow search and makes "a wider beam never scores lower than greedy" a guarantee.
            var greedy = BeamSearch(h, c, options.Bos, options.Eos, options.MaxLength, 1);
            var takeGreedy = greedy.Scores.gt(best.Scores);
            best = new Decoded(
                where(takeGreedy.unsqueeze(1), greedy.Tokens, best.Tokens),
                where(takeGreedy, greedy.Lengths, best.Lengths),
                where(takeGreedy, greedy.Scores, best.Scores));
        }

        var count = source.Count;
        var tokens = new long[(long)count * options.MaxLength];
        var lengths = new long[count];
        var scores = new double[count];
        CopyOut(best.Tokens, tokens.AsSpan());
        CopyOut(best.Lengths, lengths.AsSpan());
        CopyOut(best.Scores, scores.AsSpan());
        var sequences = new long[count][];
        for (var b = 0; b < count; b++)
        {
            sequences[b] = tokens.AsSpan(b * options.MaxLength, (int)lengths[b]).ToArray();
        }

        return new DecodedBatch(sequences, scores);
    }

    private static void CheckPair(PaddedBatch source, DecoderBatch target)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        if (source.Count != target.Count)
        {
            throw new ArgumentException($"source has {source.Count} sequences but target has {target.Count}", nameof(target));
        }
    }

    private SequenceLayout CheckBatch(PaddedBatch source, DecoderBatch target, bool withTargets)
    {
        var layout = LayoutOf(source, "source token id");
        var vocabulary = Options.TargetVocabularySize;
        CheckRange(target.Inputs, -1, vocabulary, "decoder input id");
        if (withTargets)
        {
            CheckRange(target.Targets, -1, vocabulary, "decoder target id");

            // A padding input feeds every later position of its sequence, so none of them may count.
            var inputs = target.Inputs;
            var targets = target.Targets;
            for (var b = 0; b < target.Count; b++)
            {
                var padded = false;
                for (var t = 0; t < target.Steps; t++)
                {
                    var i = (t * target.Count) + b;
                    padded |= inputs[i] == -1;
                    if (padded && targets[i] != -1)
                    {
                        throw new TorchArgumentException("a decoder target is counted at or after a padding (-1) decoder input of the same sequence");
                    }
                }
            }
        }

        return layout;
    }

    private Tensor TeacherForced(PaddedBatch source, DecoderBatch target, SequenceLayout layout, bool train)
    {
        var (h, c) = DecoderStart(source, layout, train);
        var inputs = Ids(target.Inputs, target.Steps, target.Count).clamp_min(0);
        return DecoderStep(inputs, h, c, train).Logits;
    }

    /// <summary>The decoder's initial state <c>[L, B, H]</c> from the encoder's finals, through the bridge when bidirectional.</summary>
    private (Tensor H, Tensor? C) DecoderStart(PaddedBatch source, SequenceLayout layout, bool train)
    {
        var encoded = Encode(source, layout, train, wantFinals: true);
        if (!Encoder.Bidirectional)
        {
            return (encoded.H, encoded.C);
        }

        // [L*2, B, H] (layer-major, forward then reverse) -> [L, B, 2H]: each layer's two finals side by side.
        long layers = Encoder.Layers, count = source.Count, hidden = Encoder.HiddenSize;
        Tensor Join(Tensor t) => t.view(layers, 2, count, hidden).permute(0, 2, 1, 3).reshape(layers, count, 2 * hidden);
        var h0 = nn.functional.linear(Join(encoded.H), _bridge!.Value.Weight, _bridge.Value.Bias).tanh();
        var c0 = encoded.C is null ? null : nn.functional.linear(Join(encoded.C), _bridgeCell!.Value.Weight, _bridgeCell.Value.Bias);
        return (h0, c0);
    }

    /// <summary>Decoder over inputs <c>[T, B]</c> (valid ids) from state (h, c): logits <c>[T*B, Vt]</c> and the final state.</summary>
    private (Tensor Logits, Tensor H, Tensor? C) DecoderStep(Tensor inputs, Tensor h0, Tensor? c0, bool train)
    {
        long steps = inputs.shape[0], count = inputs.shape[1];
        var x = Dropout(Embed(_decoderEmbedding, inputs), Options.DropoutEmbedding, train);
        var layout = SequenceLayout.Full((int)steps, (int)count, Device);
        var output = _decoder.Run(x, layout, h0, c0, train, Options.DropoutBetweenLayers, Options.DropoutOutput, wantFinals: false);
        var logits = Linear(output.Output.reshape(steps * count, Encoder.HiddenSize), _outputWeight, _outputBias);
        return (logits, output.H, output.C);
    }

    /// <summary>
    /// Beam search over all B sources at once, K hypotheses each, one decoder step per emitted token for all
    /// B*K rows. A finished hypothesis (it emitted &lt;eos&gt;) stays in its slot with its score: its only
    /// continuation is a free "&lt;eos&gt;" that appends nothing. Scores are summed log-probabilities in double.
    /// </summary>
    private Decoded BeamSearch(Tensor startH, Tensor? startC, long bos, long eos, int maxLength, int beamWidth)
    {
        long count = startH.shape[1], k = beamWidth, rows = count * k, vocabulary = Options.TargetVocabularySize;
        var h = startH.repeat_interleave(k, 1);
        var c = startC?.repeat_interleave(k, 1);
        using var bosValue = bos.ToScalar();
        using var eosValue = eos.ToScalar();
        using var beam = k.ToScalar();
        using var vocabularyValue = vocabulary.ToScalar();
        using var countValue = count.ToScalar();
        var tokens = full(rows, bosValue, ScalarType.Int64, Device);

        // Only slot 0 is live at first, so the first step fills the beam with K different tokens, not K copies.
        var scores = full([count, k], FillValues.NegativeInfinity, ScalarType.Float64, Device);
        scores.select(1, 0).fill_(FillValues.Zero);
        var finished = zeros(rows, ScalarType.Bool, Device);
        var history = empty([rows, 0], ScalarType.Int64, Device);
        var rowBase = arange(countValue, ScalarType.Int64, Device).mul(beam).unsqueeze(1);
        for (var step = 0; step < maxLength; step++)
        {
            // One scope per emitted token, keeping only what the next step reads (detached: the forward
            // runs with autograd on for the exact LSTM kernel, and no graph may span the search).
            using var stepScope = NewDisposeScope();
            var (logits, stepH, stepC) = DecoderStep(tokens.unsqueeze(0), h, c, train: false);
            var logp = logits.detach().log_softmax(1).to(ScalarType.Float64);
            logp.masked_fill_(finished.unsqueeze(1), FillValues.NegativeInfinity);
            logp.select(1, eos).masked_fill_(finished, FillValues.Zero);
            var candidates = (scores.unsqueeze(2) + logp.view(count, k, vocabulary)).view(count, k * vocabulary);
            var (top, index) = candidates.topk((int)k, 1);
            var chosenRows = (rowBase + index.div(vocabularyValue, RoundingMode.floor)).view(rows);
            var nextTokens = index.remainder(vocabularyValue).view(rows);
            var wasFinished = finished.index_select(0, chosenRows);
            var emitted = nextTokens.masked_fill(wasFinished, FillValues.NoIndex);
            history = cat([history.index_select(0, chosenRows), emitted.unsqueeze(1)], 1).MoveToOuterDisposeScope();
            finished = wasFinished.logical_or(nextTokens.eq(eosValue)).MoveToOuterDisposeScope();
            scores = top.MoveToOuterDisposeScope();
            tokens = nextTokens.MoveToOuterDisposeScope();
            h = stepH.detach().index_select(1, chosenRows).MoveToOuterDisposeScope();
            c = stepC?.detach().index_select(1, chosenRows).MoveToOuterDisposeScope();
            if (finished.all().item<bool>())
            {
                break;
            }
        }

        var best = scores.argmax(1);
        var chosen = history.index_select(0, rowBase.squeeze(1) + best);
        var output = full([count, maxLength], FillValues.NoIndex, ScalarType.Int64, Device);
        output.narrow(1, 0, chosen.shape[1]).copy_(chosen);
        return new Decoded(output, chosen.ne(FillValues.NoIndex).sum(1), scores.gather(1, best.unsqueeze(1)).squeeze(1));
    }

    /// <summary>Tokens <c>[B, max]</c> (-1 after each end), lengths <c>[B]</c> and total log-probabilities <c>[B]</c>.</summary>
    private sealed record Decoded(Tensor Tokens, Tensor Lengths, Tensor Scores);
}
