using RnnCluster.Model;
using RnnCluster.Torch;

namespace RnnCluster.Config;

/// <summary><c>model.*</c>: architecture and initialisation of the language model.</summary>
public sealed record ModelSettings
{
    public static ModelSettings Default { get; } = new();

    public CellKind Cell { get; init; } = CellKind.Lstm;

    public int Layers { get; init; } = 2;

    public int EmbeddingSize { get; init; } = 200;

    public int HiddenSize { get; init; } = 200;

    /// <summary>Decoder shares the embedding matrix; needs <see cref="EmbeddingSize"/> == <see cref="HiddenSize"/>.</summary>
    public bool TieWeights { get; init; }

    /// <summary>Initial LSTM forget-gate bias.</summary>
    public double ForgetBias { get; init; } = 1.0;

    /// <summary>Embedding and decoder weights start uniform in [-range, range].</summary>
    public double InitRange { get; init; } = 0.1;

    public DropoutSettings Dropout { get; init; } = DropoutSettings.Default;

    /// <summary>Sequence tasks: the encoder reads each sequence in both directions.</summary>
    public bool Bidirectional { get; init; }

    /// <summary>Acceptors: how the encoder's states become one vector per sequence.</summary>
    public Pooling Pooling { get; init; } = Pooling.Last;

    /// <summary>Acceptors and transducers: width of the head's hidden layer; 0 = one linear layer.</summary>
    public int HeadHiddenSize { get; init; }

    public HeadActivation HeadActivation { get; init; } = HeadActivation.Tanh;

    /// <summary>Encoder–decoders: width of the target embeddings; 0 = <see cref="EmbeddingSize"/>.</summary>
    public int DecoderEmbeddingSize { get; init; }

    /// <summary>Encoder–decoders: hypotheses kept by beam search at evaluation and prediction; 1 = greedy.</summary>
    public int BeamWidth { get; init; } = 1;

    public static ModelSettings Bind(ConfigSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var settings = new ModelSettings
        {
            Cell = section.GetChoice("cell", Default.Cell, CellNames.TryParse, SettingNames.Cells.Expected),
            Layers = section.GetInt("layers", Default.Layers, ValueRange.AtLeast(1)),
            EmbeddingSize = section.GetInt("embedding-size", Default.EmbeddingSize, ValueRange.AtLeast(1)),
            HiddenSize = section.GetInt("hidden-size", Default.HiddenSize, ValueRange.AtLeast(1)),
            TieWeights = section.GetBoolean("tie-weights", Default.TieWeights),
            ForgetBias = section.GetDouble("forget-bias", Default.ForgetBias),
            InitRange = section.GetDouble("init-range", Default.InitRange, ValueRange.Positive),
            Dropout = section.Bind("dropout", DropoutSettings.Bind),
            Bidirectional = section.GetBoolean("bidirectional", Default.Bidirectional),
            Pooling = section.GetEnum("pooling", Default.Pooling, SettingNames.Poolings),
            HeadHiddenSize = section.GetInt("head-hidden-size", Default.HeadHiddenSize, ValueRange.NonNegative),
            HeadActivation = section.GetEnum("head-activation", Default.HeadActivation, SettingNames.HeadActivations),
            DecoderEmbeddingSize = section.GetInt("decoder-embedding-size", Default.DecoderEmbeddingSize, ValueRange.NonNegative),
            BeamWidth = section.GetInt("beam-width", Default.BeamWidth, ValueRange.AtLeast(1)),
        };

        if (settings.TieWeights && settings.EmbeddingSize != settings.HiddenSize)
        {
            throw section.Error(
                "tie-weights",
                $"requires {section.PathOf("embedding-size")} == {section.PathOf("hidden-size")}, but "
                + $"{section.Describe("embedding-size", settings.EmbeddingSize)} and "
                + $"{section.Describe("hidden-size", settings.HiddenSize)}");
        }

        return settings;
    }

    /// <summary>The parameter shapes these settings give for a vocabulary of <paramref name="vocabularySize"/>.</summary>
    public ModelArchitecture ToArchitecture(int vocabularySize) =>
        new(Cell, Layers, EmbeddingSize, HiddenSize, vocabularySize, TieWeights);

    public void Write(HoconWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteName("cell", CellNames.ToConfigName(Cell));
        writer.Write("layers", Layers);
        writer.Write("embedding-size", EmbeddingSize);
        writer.Write("hidden-size", HiddenSize);
        writer.Write("tie-weights", TieWeights);
        writer.Write("forget-bias", ForgetBias);
        writer.Write("init-range", InitRange);
        writer.Section("dropout", Dropout.Write);
        writer.Write("bidirectional", Bidirectional);
        writer.WriteName("pooling", SettingNames.Poolings.ToName(Pooling));
        writer.Write("head-hidden-size", HeadHiddenSize);
        writer.WriteName("head-activation", SettingNames.HeadActivations.ToName(HeadActivation));
        writer.Write("decoder-embedding-size", DecoderEmbeddingSize);
        writer.Write("beam-width", BeamWidth);
    }
}
