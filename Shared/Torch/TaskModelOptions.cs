using RnnCluster.Model;

namespace RnnCluster.Torch;

/// <summary>How an acceptor turns its encoder's states into one vector per sequence (valid positions only).</summary>
public enum Pooling
{
    /// <summary>The top layer's final state: forward direction at the last token, reverse direction at the first.</summary>
    Last = 0,
    Mean = 1,

    /// <summary>Per feature, over positions.</summary>
    Max = 2,

    /// <summary>Softmax over positions of (state · learned query), then the weighted sum of the states.</summary>
    Attention = 3,
}

/// <summary>Non-linearity between the two layers of a classifier head.</summary>
public enum HeadActivation
{
    Tanh = 0,
    Relu = 1,
}

/// <summary>
/// The recurrent encoder of acceptors, transducers and encoder–decoders: embedding, then
/// <paramref name="Layers"/> stacked layers of <paramref name="Cell"/>, both directions when
/// <paramref name="Bidirectional"/> (each layer then reads both directions of the layer below).
/// </summary>
public sealed record EncoderArchitecture(CellKind Cell, int Layers, int VocabularySize, int EmbeddingSize, int HiddenSize, bool Bidirectional)
{
    /// <summary>Width of each position's state: hidden size, twice it when bidirectional.</summary>
    public int FeatureSize => Bidirectional ? 2 * HiddenSize : HiddenSize;

    internal void Validate()
    {
        Check(Layers >= 1, $"layers must be >= 1, got {Layers}");
        Check(VocabularySize >= 1, $"vocab_size must be >= 1, got {VocabularySize}");
        Check(EmbeddingSize >= 1, $"embedding_size must be >= 1, got {EmbeddingSize}");
        Check(HiddenSize >= 1, $"hidden_size must be >= 1, got {HiddenSize}");
        Check(Enum.IsDefined(Cell), $"unknown cell kind {Cell}");
    }

    internal static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new TorchArgumentException(message);
        }
    }
}

/// <summary>
/// The output layers of acceptors and transducers, as <c>nn.Sequential</c>: one linear layer when
/// <paramref name="HiddenSize"/> is 0 (<c>head.0</c>), else linear, activation, linear (<c>head.0</c>, <c>head.2</c>).
/// </summary>
public sealed record ClassifierHead(int HiddenSize, HeadActivation Activation)
{
    /// <summary>A single linear layer from the features to the classes.</summary>
    public static ClassifierHead Linear { get; } = new(0, HeadActivation.Tanh);

    internal void Validate(int classes)
    {
        EncoderArchitecture.Check(classes >= 2, $"classes must be >= 2, got {classes}");
        EncoderArchitecture.Check(HiddenSize >= 0, $"head_hidden_size must be >= 0, got {HiddenSize}");
        EncoderArchitecture.Check(Enum.IsDefined(Activation), $"unknown head activation {Activation}");
    }
}

/// <summary>An acceptor: one label of <paramref name="Classes"/> per sequence, from the pooled encoder states.</summary>
public sealed record AcceptorOptions(EncoderArchitecture Encoder, Pooling Pooling, int Classes) : TorchModelOptions
{
    public ClassifierHead Head { get; init; } = ClassifierHead.Linear;

    internal override void Validate()
    {
        base.Validate();
        Encoder.Validate();
        Head.Validate(Classes);
        EncoderArchitecture.Check(Enum.IsDefined(Pooling), $"unknown pooling {Pooling}");
    }
}

/// <summary>A transducer (tagger): one of <paramref name="Tags"/> tags at every position, from that position's encoder state.</summary>
public sealed record TransducerOptions(EncoderArchitecture Encoder, int Tags) : TorchModelOptions
{
    public ClassifierHead Head { get; init; } = ClassifierHead.Linear;

    internal override void Validate()
    {
        base.Validate();
        Encoder.Validate();
        Head.Validate(Tags);
    }
}

/// <summary>
/// An encoder–decoder. The decoder has the encoder's cell, layers and hidden size and starts from the
/// encoder's final states (through a learned bridge when the encoder is bidirectional); it reads
/// <paramref name="DecoderEmbeddingSize"/>-wide embeddings of <paramref name="TargetVocabularySize"/> ids,
/// which hold the target side's &lt;bos&gt; and &lt;eos&gt;.
/// </summary>
public sealed record Seq2SeqOptions(EncoderArchitecture Encoder, int TargetVocabularySize, int DecoderEmbeddingSize) : TorchModelOptions
{
    internal override void Validate()
    {
        base.Validate();
        Encoder.Validate();
        EncoderArchitecture.Check(TargetVocabularySize >= 1, $"target_vocab_size must be >= 1, got {TargetVocabularySize}");
        EncoderArchitecture.Check(DecoderEmbeddingSize >= 1, $"decoder_embedding_size must be >= 1, got {DecoderEmbeddingSize}");
    }
}
