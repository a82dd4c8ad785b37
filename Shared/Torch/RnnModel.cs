using RnnCluster.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace RnnCluster.Torch;

/// <summary>
/// A recurrent language model on TorchSharp: embedding, stacked recurrent layers, linear decoder,
/// trained over TBPTT windows with recurrent state carried by the caller. The flat parameter and
/// gradient buffers, their layout and the generator are <see cref="TorchModel"/>'s.
/// Not thread-safe: one caller at a time (a worker actor owns its replica).
/// </summary>
public sealed class RnnModel : TorchModel
{
    private readonly RecurrentStack _rnn;
    private readonly Tensor _embedding;
    private readonly Tensor _decoderWeight;
    private readonly Tensor _decoderBias;

    /// <summary>The decoder's report blocks as row boundaries; <c>[0, V]</c> when it is reported whole.</summary>
    private readonly long[] _decoderRows;

    public RnnModel(ModelOptions options)
        : base(options)
    {
        Options = options;
        var a = options.Architecture;
        var r = options.InitRange;
        AddEntry("encoder.weight", [a.VocabularySize, a.EmbeddingSize], new InitRule(r));
        _rnn = AddStack("rnn.", a.Cell, a.Layers, a.EmbeddingSize, a.HiddenSize, 1);
        if (!a.TieWeights)
        {
            AddEntry("decoder.weight", [a.VocabularySize, a.HiddenSize], new InitRule(r));
        }

        AddEntry("decoder.bias", [a.VocabularySize], new InitRule(0.0));
        Build(_rnn);
        _embedding = Parameter("encoder.weight");
        _decoderWeight = a.TieWeights ? _embedding : Parameter("decoder.weight");
        _decoderBias = Parameter("decoder.bias");
        StateSizePerStream = (a.Cell == CellKind.Lstm ? 2 : 1) * a.Layers * a.HiddenSize;
        _decoderRows = a.TieWeights || ComputeType != DType ? [0, a.VocabularySize] : BlockBoundaries(a.VocabularySize, options.DecoderGradientBlocks);
        SetGradientSegments(ReadyOrder(a));
    }

    public new ModelOptions Options { get; }

    public ModelArchitecture Architecture => Options.Architecture;

    /// <summary>Elements of recurrent state per stream: (2 for LSTM, else 1) × layers × hidden size.</summary>
    public int StateSizePerStream { get; }

    /// <summary>
    /// Forward (and, when <paramref name="backward"/>, backward) over one time-major window
    /// <c>[steps, streams]</c>. Gradients of the loss SUM are added to the gradient buffer.
    /// An empty <paramref name="stateIn"/> starts every stream from zeros.
    /// </summary>
    public WindowResult ForwardBackward<T>(
        ReadOnlySpan<long> inputs,
        ReadOnlySpan<long> targets,
        int steps,
        int streams,
        ReadOnlySpan<T> stateIn,
        Span<T> stateOut,
        bool train,
        bool backward,
        bool wantCorrect = false)
        where T : unmanaged
    {
        CheckElement<T>();
        CheckWindow(inputs.Length, steps, streams, "inputs");
        CheckWindow(targets.Length, steps, streams, "targets");
        CheckState(stateIn.Length, streams, allowEmpty: true, "stateIn");
        CheckState(stateOut.Length, streams, allowEmpty: true, "stateOut");
        CheckRange(inputs, 0, Architecture.VocabularySize, "input token id");
        CheckRange(targets, -1, Architecture.VocabularySize, "target id");
        using var scope = NewDisposeScope();
        using var grad = GradientMode(backward);
        var x = Ids(inputs, steps, streams);
        var y = Ids(targets, steps, streams).reshape(-1);
        var taps = backward ? BeginGradientTaps() : null;
        var (logits, finalState) = Forward(x, StateIn(stateIn, streams), train, taps);
        var loss = nn.functional.cross_entropy(logits, y, ignore_index: -1, reduction: nn.Reduction.Sum);
        if (backward)
        {
            Backward(loss, taps);
        }

        var correct = wantCorrect ? logits.argmax(1).eq(y).sum().item<long>() : 0;
        if (!stateOut.IsEmpty)
        {
            StateOut(finalState, stateOut);
        }

        return new WindowResult(FillValues.ValueOf(loss), y.ne(FillValues.NoIndex).sum().item<long>(), correct);
    }

    /// <summary>Logits <c>[streams, vocab]</c> of the last step of a window (no dropout), for sampling and beam search.</summary>
    public void LastLogits<T>(ReadOnlySpan<long> inputs, int steps, int streams, ReadOnlySpan<T> stateIn, Span<T> stateOut, Span<T> logits)
        where T : unmanaged
    {
        CheckElement<T>();
        CheckWindow(inputs.Length, steps, streams, "inputs");
        CheckState(stateIn.Length, streams, allowEmpty: true, "stateIn");
        CheckState(stateOut.Length, streams, allowEmpty: true, "stateOut");
        if (logits.Length != (long)streams * Architecture.VocabularySize)
        {
            throw new ArgumentException($"logits needs {streams} x {Architecture.VocabularySize} elements, got {logits.Length}", nameof(logits));
        }

        CheckRange(inputs, 0, Architecture.VocabularySize, "input token id");
        using var scope = NewDisposeScope();
        using var grad = GradientMode(backward: false);
        var (all, finalState) = Forward(Ids(inputs, steps, streams), StateIn(stateIn, streams), train: false);
        CopyOut(all.narrow(0, (long)(steps - 1) * streams, streams), logits);
        if (!stateOut.IsEmpty)
        {
            StateOut(finalState, stateOut);
        }
    }

    /// <summary>
    /// The LM of word_language_model: embedding, dropout, recurrent stack (dropout between layers and after
    /// the top one), linear decoder. Inputs <c>[T, B]</c>; state <c>[K, L, B, H]</c> (K = 2 for LSTM: h, c).
    /// Returns logits <c>[T*B, V]</c> and the detached final state. With <paramref name="taps"/>, identity taps at
    /// the decoder's input and at each recurrent layer's input report those segments during backward.
    /// </summary>
    private (Tensor Logits, Tensor State) Forward(Tensor inputs, Tensor state, bool train, GradientTapPass? taps = null)
    {
        var steps = inputs.shape[0];
        var streams = inputs.shape[1];
        var x = Dropout(Embed(_embedding, inputs), Options.DropoutEmbedding, train);
        var layout = SequenceLayout.Full((int)steps, (int)streams, Device);
        var lstm = _rnn.IsLstm;

        // Low-precision cells' gradients reach the flat buffer only at the flush after backward, so their
        // layers are reported then, untapped.
        Func<Tensor, int, Tensor>? tapLayer = taps is null || _rnn.IsLowPrecision ? null : (t, l) => taps.Tap(t, LayerSegment(l));
        var output = _rnn.Run(x, layout, state[0], lstm ? state[1] : null, train, Options.DropoutBetweenLayers, Options.DropoutOutput, wantFinals: false, tapLayer);
        var top = output.Output.reshape(steps * streams, Architecture.HiddenSize);
        Tensor logits;
        if (taps is not null && DecoderInBlocks)
        {
            logits = ReportingDecoder.apply(top, new DecoderBlocks(_decoderWeight, _decoderBias, GradView("decoder.weight"), GradView("decoder.bias"), _decoderRows, taps, DecoderSegment));
        }
        else
        {
            if (taps is not null)
            {
                top = taps.Tap(top, DecoderSegment);
            }

            logits = Linear(top, _decoderWeight, _decoderBias);
        }

        var final = lstm ? stack([output.H, output.C!], 0) : output.H.unsqueeze(0);
        return (logits, final.detach());
    }

    /// <summary>Index of the decoder's (first) segment in <see cref="TorchModel.GradientSegments"/>: reported first.</summary>
    private const int DecoderSegment = 0;

    /// <summary>
    /// An untied decoder in the model's own type is reported in blocks by <see cref="ReportingDecoder"/>; a
    /// tied one (its weight is the embedding's, final only when backward returns) or a bf16 one as one
    /// segment by the tap at its input.
    /// </summary>
    private bool DecoderInBlocks => _decoderRows.Length > 2;

    /// <summary>Layers are reported top-down after the decoder's segments.</summary>
    private int LayerSegment(int layer) => _decoderRows.Length - 1 + (Architecture.Layers - 1 - layer);

    /// <summary>
    /// Segments in the order their gradients become final in backward: the decoder (its weight and bias, which
    /// end the layout; in blocks of rows "decoder.0", "decoder.1", ... with the bias in the last when reported
    /// in blocks; only the bias when tied, since a tied weight is the embedding's), the recurrent layers
    /// top-down (each layer's four tensors are adjacent), and last the embedding, whose gradient (a tied
    /// decoder's included) is final only when backward returns.
    /// </summary>
    private GradientSegment[] ReadyOrder(ModelArchitecture a)
    {
        var decoder = Slice(a.TieWeights ? "decoder.bias" : "decoder.weight").Offset;
        var order = new List<GradientSegment>();
        if (_decoderRows.Length > 2)
        {
            // Blocks of weight rows; the bias (which ends the layout) goes with the last block.
            for (var k = 0; k < _decoderRows.Length - 1; k++)
            {
                var offset = decoder + (_decoderRows[k] * a.HiddenSize);
                var end = k == _decoderRows.Length - 2 ? ParameterCount : decoder + (_decoderRows[k + 1] * a.HiddenSize);
                order.Add(new GradientSegment($"decoder.{k}", offset, end - offset));
            }
        }
        else
        {
            order.Add(new GradientSegment("decoder", decoder, ParameterCount - decoder));
        }

        for (var l = a.Layers - 1; l >= 0; l--)
        {
            var first = Slice($"rnn.weight_ih_l{l}");
            var last = Slice($"rnn.bias_hh_l{l}");
            order.Add(new GradientSegment($"rnn.layer{l}", first.Offset, last.Offset + last.Count - first.Offset));
        }

        var embedding = Slice("encoder.weight");
        order.Add(new GradientSegment("encoder", embedding.Offset, embedding.Count));
        return [.. order];
    }

    /// <summary><paramref name="blocks"/> (at most one per row) near-equal blocks of <paramref name="rows"/>, as boundaries.</summary>
    private static long[] BlockBoundaries(long rows, int blocks)
    {
        var n = (int)Math.Min(blocks, rows);
        var bounds = new long[n + 1];
        for (var k = 0; k <= n; k++)
        {
            bounds[k] = rows * k / n;
        }

        return bounds;
    }

    /// <summary>Host state is stream-major <c>[B, K, L, H]</c>; the kernels want <c>[K, L, B, H]</c>.</summary>
    private Tensor StateIn<T>(ReadOnlySpan<T> state, int streams)
        where T : unmanaged
    {
        var k = _rnn.IsLstm ? 2 : 1;
        long[] kernelShape = [k, Architecture.Layers, streams, Architecture.HiddenSize];
        if (state.IsEmpty)
        {
            return zeros(kernelShape, DType, Device);
        }

        var host = empty([streams, k, Architecture.Layers, Architecture.HiddenSize], DType);
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(state).CopyTo(host.bytes);
        return host.permute(1, 2, 0, 3).contiguous().to(Device);
    }

    private static void StateOut<T>(Tensor state, Span<T> destination)
        where T : unmanaged => CopyOut(state.permute(2, 0, 1, 3), destination);

    private static void CheckWindow(int length, int steps, int streams, string name)
    {
        if (steps < 1 || streams < 1 || length != (long)steps * streams)
        {
            throw new ArgumentException($"{name} must hold steps x streams = {steps} x {streams} ids, got {length}", name);
        }
    }

    private void CheckState(int length, int streams, bool allowEmpty, string name)
    {
        if (allowEmpty && length == 0)
        {
            return;
        }

        if (length != (long)streams * StateSizePerStream)
        {
            throw new ArgumentException($"{name} must hold streams x {StateSizePerStream} elements, got {length}", name);
        }
    }
}
