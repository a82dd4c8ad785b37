namespace RnnCluster.Config;

/// <summary><c>model.dropout.*</c>: drop probabilities at the three places an LSTM LM uses them.</summary>
public sealed record DropoutSettings
{
    public static DropoutSettings Default { get; } = new();

    /// <summary>On embedding outputs, before the first recurrent layer.</summary>
    public double Embedding { get; init; } = 0.2;

    /// <summary>Between stacked recurrent layers.</summary>
    public double BetweenLayers { get; init; } = 0.2;

    /// <summary>On the last layer's outputs, before the decoder.</summary>
    public double Output { get; init; } = 0.2;

    public static DropoutSettings Bind(ConfigSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        return new()
        {
            Embedding = section.GetDouble("embedding", Default.Embedding, ValueRange.Fraction),
            BetweenLayers = section.GetDouble("between-layers", Default.BetweenLayers, ValueRange.Fraction),
            Output = section.GetDouble("output", Default.Output, ValueRange.Fraction),
        };
    }

    public void Write(HoconWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write("embedding", Embedding);
        writer.Write("between-layers", BetweenLayers);
        writer.Write("output", Output);
    }
}
