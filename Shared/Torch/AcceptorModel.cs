using TorchSharp;
using static TorchSharp.torch;

namespace RnnCluster.Torch;

/// <summary>
/// An acceptor on TorchSharp: embedding, stacked (optionally bidirectional) recurrent encoder, pooling
/// over each sequence's valid positions, classifier head, softmax cross-entropy. One label per sequence.
/// Parameters and gradients are <see cref="TorchModel"/>'s flat buffers, so optimizers, clipping and
/// gradient sums work unchanged. Not thread-safe: one caller at a time.
/// </summary>
public sealed class AcceptorModel : EncoderModel
{
    private readonly Tensor? _query;
    private readonly ClassifierHeadLayers _head;

    public AcceptorModel(AcceptorOptions options)
        : base(options, options.Encoder, "encoder.weight", "rnn.")
    {
        Options = options;
        var features = options.Encoder.FeatureSize;
        if (options.Pooling == Pooling.Attention)
        {
            AddEntry("attention.query", [features], new InitRule(1.0 / Math.Sqrt(features)));
        }

        AddHead(options.Head, options.Classes);
        Build(EncoderStack);
        _query = options.Pooling == Pooling.Attention ? Parameter("attention.query") : null;
        _head = BindHead(options.Head);
    }

    public new AcceptorOptions Options { get; }

    /// <summary>
    /// Forward (and, when <paramref name="backward"/>, backward) over a padded batch: summed cross-entropy of
    /// the labels that are not -1, their count and how many the argmax got right. Gradients of the loss SUM are
    /// added to the gradient buffer. Empty <paramref name="labels"/> asks for predictions only (no backward).
    /// <paramref name="predictions"/>, when not empty, receives each sequence's argmax label.
    /// </summary>
    public BatchResult Classify(PaddedBatch batch, ReadOnlySpan<long> labels, bool train, bool backward, Span<long> predictions = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        CheckLength(labels.Length, batch.Count, nameof(labels), optional: !backward);
        CheckLength(predictions.Length, batch.Count, nameof(predictions), optional: true);
        var layout = LayoutOf(batch, "token id");
        CheckRange(labels, -1, Options.Classes, "label");
        using var scope = NewDisposeScope();
        using var grad = GradientMode(backward);
        var logits = Forward(batch, layout, train);
        var result = Score(logits, labels.IsEmpty ? null : Ids(labels, batch.Count, 1).view(-1), backward);
        if (!predictions.IsEmpty)
        {
            CopyOut(logits.argmax(1), predictions);
        }

        return result;
    }

    /// <summary>Class scores <c>[batch.Count, Classes]</c> before the softmax, without dropout.</summary>
    public void Logits<T>(PaddedBatch batch, Span<T> logits)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(batch);
        CheckElement<T>();
        CheckLength(logits.Length, (long)batch.Count * Options.Classes, nameof(logits));
        var layout = LayoutOf(batch, "token id");
        using var scope = NewDisposeScope();
        using var grad = GradientMode(backward: false);
        CopyOut(Forward(batch, layout, train: false), logits);
    }

    private Tensor Forward(PaddedBatch batch, SequenceLayout layout, bool train)
    {
        var encoded = Encode(batch, layout, train, wantFinals: false);
        return _head.Apply(Dropout(Pool(encoded.Output, layout), Options.DropoutOutput, train));
    }

    /// <summary>One vector per sequence from the top layer's states at its valid positions only.</summary>
    private Tensor Pool(Tensor states, SequenceLayout layout)
    {
        var valid = layout.Valid.unsqueeze(2);
        switch (Options.Pooling)
        {
            case Pooling.Last:
                // Forward direction at each sequence's last token, reverse direction at its first (where the
                // reverse run ends), joined as [forward; reverse] like the outputs.
                var hidden = Encoder.HiddenSize;
                var forward = layout.Last(states.narrow(2, 0, hidden)).squeeze(0);
                return Encoder.Bidirectional ? cat([forward, states[0].narrow(1, hidden, hidden)], 1) : forward;
            case Pooling.Mean:
                return states.masked_fill(valid.logical_not(), FillValues.Zero).sum(0L) / layout.Lengths.unsqueeze(1).to(states.dtype);
            case Pooling.Max:
                return states.masked_fill(valid.logical_not(), FillValues.NegativeInfinity).amax(0);
            default:
                var scores = matmul(states, _query!).masked_fill(layout.Valid.logical_not(), FillValues.NegativeInfinity);
                var weights = scores.softmax(0);
                return (weights.unsqueeze(2) * states.masked_fill(valid.logical_not(), FillValues.Zero)).sum(0L);
        }
    }
}
