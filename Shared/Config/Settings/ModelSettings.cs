using RnnCluster.Model;

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
    }
}
