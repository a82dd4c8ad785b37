using TorchSharp;
using static TorchSharp.torch;

namespace RnnCluster.Torch;

/// <summary>
/// A transducer (tagger) on TorchSharp: embedding, stacked (optionally bidirectional) recurrent encoder,
/// classifier head at every position, softmax cross-entropy over the valid positions only.
/// Parameters and gradients are <see cref="TorchModel"/>'s flat buffers. Not thread-safe: one caller at a time.
/// </summary>
public sealed class TransducerModel : EncoderModel
{
    private readonly ClassifierHeadLayers _head;

    public TransducerModel(TransducerOptions options)
        : base(options, options.Encoder, "encoder.weight", "rnn.")
    {
        Options = options;
        AddHead(options.Head, options.Tags);
        Build(EncoderStack);
        _head = BindHead(options.Head);
    }

    public new TransducerOptions Options { get; }

    /// <summary>
    /// Forward (and, when <paramref name="backward"/>, backward) over a padded batch. <paramref name="tags"/>
    /// is time-major like the tokens (<see cref="PaddedBatch.TimeMajor"/>); tags of -1 and every position
    /// after a sequence's end are not counted. Empty tags asks for predictions only (no backward).
    /// <paramref name="predictions"/>, when not empty, receives the argmax tag per position, -1 at padding.
    /// </summary>
    public BatchResult Tag(PaddedBatch batch, ReadOnlySpan<long> tags, bool train, bool backward, Span<long> predictions = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var positions = (long)batch.Steps * batch.Count;
        CheckLength(tags.Length, positions, nameof(tags), optional: !backward);
        CheckLength(predictions.Length, positions, nameof(predictions), optional: true);
        var layout = LayoutOf(batch, "token id");
        if (!tags.IsEmpty)
        {
            // Tags at padding are never read, whatever they hold.
            layout.CheckIds(tags, -1, Options.Tags, "tag");
        }

        using var scope = NewDisposeScope();
        using var grad = GradientMode(backward);
        var encoded = Encode(batch, layout, train, wantFinals: false);
        var logits = _head.Apply(Dropout(encoded.Output, Options.DropoutOutput, train)).reshape(positions, Options.Tags);
        var valid = layout.Valid.reshape(-1);
        Tensor? targets = tags.IsEmpty ? null : Ids(tags, batch.Steps, batch.Count).reshape(-1).masked_fill(valid.logical_not(), FillValues.NoIndex);
        var result = Score(logits, targets, backward);
        if (!predictions.IsEmpty)
        {
            CopyOut(logits.argmax(1).masked_fill(valid.logical_not(), FillValues.NoIndex), predictions);
        }

        return result;
    }
}
