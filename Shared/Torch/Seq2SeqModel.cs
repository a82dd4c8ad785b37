namespace RnnCluster.Torch;

/// <summary>
/// An encoder–decoder held by libtorch: a recurrent encoder over the source, a recurrent decoder started
/// from the encoder's final states, trained with teacher forcing and decoded greedily or by beam search.
/// Parameters and gradients are <see cref="TorchModel"/>'s flat buffers. Not thread-safe: one caller at a time.
/// </summary>
public sealed unsafe class Seq2SeqModel : TorchModel
{
    public Seq2SeqModel(Seq2SeqOptions options)
        : base(options)
    {
        Options = options;
    }

    public Seq2SeqOptions Options { get; }

    /// <summary>
    /// Teacher-forced forward (and, when <paramref name="backward"/>, backward): summed cross-entropy of the
    /// decoder targets that are not -1, their count and how many the argmax got right. Gradients of the loss
    /// SUM are added to the gradient buffer.
    /// </summary>
    public BatchResult ForwardBackward(PaddedBatch source, DecoderBatch target, bool train, bool backward)
    {
        CheckPair(source, target);
        fixed (long* pTargets = target.Targets)
        {
            return Call(source, target, pTargets, train, backward, null);
        }
    }

    /// <summary>Teacher-forced decoder scores <c>[target.Steps, target.Count, TargetVocabularySize]</c> before the softmax, without dropout.</summary>
    public void DecoderLogits<T>(PaddedBatch source, DecoderBatch target, Span<T> logits)
        where T : unmanaged
    {
        CheckPair(source, target);
        CheckElement<T>();
        CheckLength(logits.Length, (long)target.Steps * target.Count * Options.TargetVocabularySize, nameof(logits));
        fixed (T* p = logits)
        {
            Call(source, target, null, train: false, backward: false, p);
        }
    }

    /// <summary>
    /// Greedy (<see cref="DecodeOptions.BeamWidth"/> 1) or beam-search output for every source. Scores are
    /// total log-probabilities, not length-normalised; a wider beam never returns a lower score than greedy
    /// (the bridge lets the greedy hypothesis compete).
    /// </summary>
    public DecodedBatch Decode(PaddedBatch source, DecodeOptions options)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BeamWidth, 1);
        var count = source.Count;
        var output = new long[(long)count * options.MaxLength];
        var lengths = new int[count];
        var scores = new double[count];
        fixed (long* pTokens = source.Tokens)
        fixed (int* pLengths = source.Lengths)
        fixed (long* pOutput = output)
        fixed (int* pOutLengths = lengths)
        fixed (double* pScores = scores)
        {
            NativeCheck.Status(NativeMethods.rnn_model_decode(
                Handle, pTokens, pLengths, source.Steps, count, options.Bos, options.Eos, options.MaxLength, options.BeamWidth,
                pOutput, pOutLengths, pScores));
        }

        var sequences = new long[count][];
        for (var b = 0; b < count; b++)
        {
            sequences[b] = output.AsSpan(b * options.MaxLength, lengths[b]).ToArray();
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

    private BatchResult Call(PaddedBatch source, DecoderBatch target, long* targets, bool train, bool backward, void* logits)
    {
        NativeWindowResult result;
        fixed (long* pTokens = source.Tokens)
        fixed (int* pLengths = source.Lengths)
        fixed (long* pInputs = target.Inputs)
        {
            NativeCheck.Status(NativeMethods.rnn_model_seq2seq(
                Handle, pTokens, pLengths, source.Steps, source.Count, pInputs, targets, target.Steps,
                train ? 1 : 0, backward ? 1 : 0, logits, &result));
        }

        return new BatchResult(result.LossSum, result.Tokens, result.Correct);
    }
}
