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
        var tokens = layout.AllFull ? Ids(batch.Tokens, batch.Steps, batch.Count) : Ids(batch.Tokens, batch.Steps, batch.Count).masked_fill(layout.Valid.logical_not(), FillValues.ZeroIndex);
        var embedding = Parameter(_embeddingName);
        var x = Dropout(Embed(embedding, tokens), Options.DropoutEmbedding, train);
        var rows = EncoderStack.Layers * EncoderStack.Directions;
        var zero = zeros([rows, batch.Count, Encoder.HiddenSize], DType, Device);
        return EncoderStack.Run(x, layout, zero, EncoderStack.IsLstm ? zero : null, train, Options.DropoutBetweenLayers, 0.0, wantFinals);
    }

    /// <summary>Summed cross-entropy over targets != -1, their count and the right argmax; backward from the sum when asked.</summary>
    private protected BatchResult Score(Tensor logits, Tensor? targets, bool backward)
    {
        if (targets is null)
        {
            return new BatchResult(0, 0, 0);
        }

        var loss = nn.functional.cross_entropy(logits, targets, ignore_index: -1, reduction: nn.Reduction.Sum);
        if (backward)
        {
            Backward(loss);
        }

        return new BatchResult(FillValues.ValueOf(loss), targets.ne(FillValues.NoIndex).sum().item<long>(), logits.argmax(1).eq(targets).sum().item<long>());
    }

    /// <summary>Registers a classifier head from the encoder's features to <paramref name="classes"/> (<c>head.0</c>, <c>head.2</c>).</summary>
    private protected void AddHead(ClassifierHead head, int classes)
    {
        // nn.Sequential(Linear, activation, Linear) numbers its children 0, 1, 2; the activation has no weights.
        var features = Encoder.FeatureSize;
        if (head.HiddenSize > 0)
        {
            AddLinear("head.0.", features, head.HiddenSize);
            AddLinear("head.2.", head.HiddenSize, classes);
        }
        else
        {
            AddLinear("head.0.", features, classes);
        }
    }

    /// <summary>The head's tensors, once <see cref="TorchModel.Build"/> made them.</summary>
    private protected ClassifierHeadLayers BindHead(ClassifierHead head)
    {
        var hidden = head.HiddenSize > 0;
        return new ClassifierHeadLayers(
            head,
            Parameter("head.0.weight"),
            Parameter("head.0.bias"),
            hidden ? Parameter("head.2.weight") : null,
            hidden ? Parameter("head.2.bias") : null);
    }
}
