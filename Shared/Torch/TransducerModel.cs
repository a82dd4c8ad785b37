namespace RnnCluster.Torch;

/// <summary>
/// A transducer (tagger) held by libtorch: embedding, stacked (optionally bidirectional) recurrent encoder,
/// classifier head at every position, softmax cross-entropy over the valid positions only.
/// Parameters and gradients are <see cref="TorchModel"/>'s flat buffers. Not thread-safe: one caller at a time.
/// </summary>
public sealed unsafe class TransducerModel : TorchModel
{
    public TransducerModel(TransducerOptions options)
        : base(options)
    {
        Options = options;
    }

    public TransducerOptions Options { get; }

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
        NativeWindowResult result;
        fixed (long* pTokens = batch.Tokens)
        fixed (int* pLengths = batch.Lengths)
        fixed (long* pTags = tags)
        fixed (long* pPredictions = predictions)
        {
            NativeCheck.Status(NativeMethods.rnn_model_tag(
                Handle, pTokens, pLengths, batch.Steps, batch.Count, tags.IsEmpty ? null : pTags,
                train ? 1 : 0, backward ? 1 : 0, predictions.IsEmpty ? null : pPredictions, &result));
        }

        return new BatchResult(result.LossSum, result.Tokens, result.Correct);
    }
}
