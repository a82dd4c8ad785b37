using TorchSharp;
using static TorchSharp.torch;

namespace RnnCluster.Torch;

/// <summary>
/// What acceptors, transducers and encoder–decoders share: a token embedding and a stacked, optionally
/// bidirectional recurrent encoder over padded batches (<see cref="RecurrentStack"/> says how padding is
/// kept out of the results), registered first in the layout under PyTorch's names.
/// </summary>
public abstract class EncoderModel : TorchModel
{
    private readonly string _embeddingName;

    private protected EncoderModel(TorchModelOptions options, EncoderArchitecture encoder, string embeddingName, string stackPrefix)
        : base(options)
    {
        Encoder = encoder;
        _embeddingName = embeddingName;
        AddEntry(embeddingName, [encoder.VocabularySize, encoder.EmbeddingSize], new InitRule(options.InitRange));
        EncoderStack = AddStack(stackPrefix, encoder.Cell, encoder.Layers, encoder.EmbeddingSize, encoder.HiddenSize, encoder.Bidirectional ? 2 : 1);
    }

    public EncoderArchitecture Encoder { get; }

    private protected RecurrentStack EncoderStack { get; }

    /// <summary>The layout of <paramref name="batch"/> after checking its ids at valid positions (padding may hold anything).</summary>
    private protected SequenceLayout LayoutOf(PaddedBatch batch, string what)
    {
        var layout = SequenceLayout.Of(batch.Lengths, batch.Steps, Device);
        layout.CheckIds(batch.Tokens, 0, Encoder.VocabularySize, what);
        return layout;
    }

    /// <summary>
    /// Embedding (with its dropout) and the encoder stack over <paramref name="batch"/>: output
    /// <c>[T, B, D*H]</c>, garbage at padding; finals at each sequence's ends when asked.
    /// </summary>
    private protected StackOutput Encode(PaddedBatch batch, SequenceLayout layout, bool train, bool wantFinals)
    {
        // Padding may hold any id: look up row 0 there instead (its outputs are masked anyway).
        var tokens = layout.AllFull ? Ids(batch.Tokens, batch.Steps, batch.Count) : Ids(batch.Tokens, batch.Steps, batch.Count).masked_fill(layout.Valid.logical_not(), 0L);
        var embedding = Parameter(_embeddingName);
        var x = Dropout(Embed(embedding, tokens), Options.DropoutEmbedding, train);
        var rows = EncoderStack.Layers * EncoderStack.Directions;
        var zero = zeros([rows, batch.Count, Encoder.HiddenSize], DType, Device);
        return EncoderStack.Run(x, layout, zero, EncoderStack.IsLstm ? zero : null, train, Options.DropoutBetweenLayers, 0.0, wantFinals);
    }

    /// <summary>Summed cross-entropy over targets != -1, their count and the right argmax; backward from the sum when asked.</summary>
    private protected static BatchResult Score(Tensor logits, Tensor? targets, bool backward)
    {
        if (targets is null)
        {
            return new BatchResult(0, 0, 0);
        }

        var loss = nn.functional.cross_entropy(logits, targets, ignore_index: -1, reduction: nn.Reduction.Sum);
        if (backward)
        {
            loss.backward();
        }

        return new BatchResult(loss.ToDouble(), targets.ne(-1).sum().item<long>(), logits.argmax(1).eq(targets).sum().item<long>());
    }

    /// <summary>Refuses ids outside [low, high), naming the extremes.</summary>
    private protected static void CheckRange(ReadOnlySpan<long> ids, long low, long high, string what)
    {
        if (ids.IsEmpty)
        {
            return;
        }

        long min = long.MaxValue, max = long.MinValue;
        foreach (var id in ids)
        {
            min = Math.Min(min, id);
            max = Math.Max(max, id);
        }

        if (min < low || max >= high)
        {
            throw new TorchArgumentException($"{what} out of range [{low}, {high}): min {min}, max {max}");
        }
    }
}
