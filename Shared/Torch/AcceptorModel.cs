namespace RnnCluster.Torch;

/// <summary>
/// An acceptor held by libtorch: embedding, stacked (optionally bidirectional) recurrent encoder, pooling
/// over each sequence's valid positions, classifier head, softmax cross-entropy. One label per sequence.
/// Parameters and gradients are <see cref="TorchModel"/>'s flat buffers, so optimizers, clipping and
/// gradient sums work unchanged. Not thread-safe: one caller at a time.
/// </summary>
public sealed unsafe class AcceptorModel : TorchModel
{
    public AcceptorModel(AcceptorOptions options)
        : base(options)
    {
        Options = options;
    }

    public AcceptorOptions Options { get; }

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
        return Call(batch, labels, train, backward, predictions, null);
    }

    /// <summary>Class scores <c>[batch.Count, Classes]</c> before the softmax, without dropout.</summary>
    public void Logits<T>(PaddedBatch batch, Span<T> logits)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(batch);
        CheckElement<T>();
        CheckLength(logits.Length, (long)batch.Count * Options.Classes, nameof(logits));
        fixed (T* p = logits)
        {
            Call(batch, default, train: false, backward: false, default, p);
        }
    }

    private BatchResult Call(PaddedBatch batch, ReadOnlySpan<long> labels, bool train, bool backward, Span<long> predictions, void* logits)
    {
        NativeWindowResult result;
        fixed (long* pTokens = batch.Tokens)
        fixed (int* pLengths = batch.Lengths)
        fixed (long* pLabels = labels)
        fixed (long* pPredictions = predictions)
        {
            NativeCheck.Status(NativeMethods.rnn_model_classify(
                Handle, pTokens, pLengths, batch.Steps, batch.Count, labels.IsEmpty ? null : pLabels,
                train ? 1 : 0, backward ? 1 : 0, predictions.IsEmpty ? null : pPredictions, logits, &result));
        }

        return new BatchResult(result.LossSum, result.Tokens, result.Correct);
    }
}
