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

    internal void Describe(ref NativeModelConfig config)
    {
        config.Cell = (int)Cell;
        config.Layers = Layers;
        config.VocabSize = VocabularySize;
        config.EmbeddingSize = EmbeddingSize;
        config.HiddenSize = HiddenSize;
        config.Bidirectional = Bidirectional ? 1 : 0;
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

    internal void Describe(ref NativeModelConfig config, int classes)
    {
        config.HeadHiddenSize = HiddenSize;
        config.HeadActivation = (int)Activation;
        config.Classes = classes;
    }
}

/// <summary>An acceptor: one label of <paramref name="Classes"/> per sequence, from the pooled encoder states.</summary>
public sealed record AcceptorOptions(EncoderArchitecture Encoder, Pooling Pooling, int Classes) : TorchModelOptions
{
    public ClassifierHead Head { get; init; } = ClassifierHead.Linear;

    private protected override void DescribeArchitecture(ref NativeModelConfig config)
    {
        config.Task = NativeTask.Acceptor;
        Encoder.Describe(ref config);
        config.Pooling = (int)Pooling;
        Head.Describe(ref config, Classes);
    }
}

/// <summary>A transducer (tagger): one of <paramref name="Tags"/> tags at every position, from that position's encoder state.</summary>
public sealed record TransducerOptions(EncoderArchitecture Encoder, int Tags) : TorchModelOptions
{
    public ClassifierHead Head { get; init; } = ClassifierHead.Linear;

    private protected override void DescribeArchitecture(ref NativeModelConfig config)
    {
        config.Task = NativeTask.Transducer;
        Encoder.Describe(ref config);
        Head.Describe(ref config, Tags);
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
    private protected override void DescribeArchitecture(ref NativeModelConfig config)
    {
        config.Task = NativeTask.Seq2Seq;
        Encoder.Describe(ref config);
        config.TargetVocabSize = TargetVocabularySize;
        config.DecoderEmbeddingSize = DecoderEmbeddingSize;
    }
}
