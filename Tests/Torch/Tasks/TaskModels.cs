using RnnCluster.Model;
using RnnCluster.Torch;

namespace RnnCluster.Tests.Torch.Tasks;

/// <summary>Tiny task models and batches shared by the task tests: small enough for finite differences.</summary>
internal static class TaskModels
{
    public const int Vocabulary = 6;
    public const int Classes = 3;
    public const int TargetVocabulary = 5;
    public const long Bos = 0;
    public const long Eos = 1;

    /// <summary>The acceptor cases the issue asks for: every pooling over a bidirectional lstm and gru.</summary>
    public static TheoryData<CellKind, Pooling> EveryPoolingOfBidirectionalLstmAndGru { get; } = new()
    {
        { CellKind.Lstm, Pooling.Last },
        { CellKind.Lstm, Pooling.Mean },
        { CellKind.Lstm, Pooling.Max },
        { CellKind.Lstm, Pooling.Attention },
        { CellKind.Gru, Pooling.Last },
        { CellKind.Gru, Pooling.Mean },
        { CellKind.Gru, Pooling.Max },
        { CellKind.Gru, Pooling.Attention },
    };

    public static EncoderArchitecture Encoder(CellKind cell, bool bidirectional, int layers = 2) =>
        new(cell, layers, Vocabulary, EmbeddingSize: 3, HiddenSize: 3, bidirectional);

    public static AcceptorOptions Acceptor(CellKind cell, bool bidirectional, Pooling pooling, Precision precision = Precision.Float64) =>
        new(Encoder(cell, bidirectional), pooling, Classes)
        {
            Head = new ClassifierHead(4, HeadActivation.Tanh),
            Precision = precision,
            Seed = 7,
            InitRange = 0.5,
        };

    public static TransducerOptions Transducer(CellKind cell, bool bidirectional, Precision precision = Precision.Float64) =>
        new(Encoder(cell, bidirectional), Classes)
        {
            Head = new ClassifierHead(4, HeadActivation.Relu),
            Precision = precision,
            Seed = 8,
            InitRange = 0.5,
        };

    public static Seq2SeqOptions Seq2Seq(CellKind cell, bool bidirectional, Precision precision = Precision.Float64) =>
        new(Encoder(cell, bidirectional), TargetVocabulary, DecoderEmbeddingSize: 2)
        {
            Precision = precision,
            Seed = 9,
            InitRange = 0.5,
        };

    /// <summary>Three sources of lengths 5, 2 and 4: unsorted on purpose, so packing has to reorder them.</summary>
    public static long[][] Sentences() => [[1, 4, 2, 5, 3], [2, 0], [5, 5, 1, 4]];

    public static long[] Labels() => [2, 0, 1];

    public static long[][] Tags() => [[0, 1, 2, 2, 1], [1, 0], [2, -1, 0, 1]];

    /// <summary>Target sequences (without &lt;bos&gt;/&lt;eos&gt;) for <see cref="Sentences"/>.</summary>
    public static long[][] Targets() => [[2, 3, 4], [4], [3, 2, 2, 4]];
}
