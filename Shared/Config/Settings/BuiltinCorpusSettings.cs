namespace RnnCluster.Config;

/// <summary><c>data.builtin.*</c>: size and seed of the generated corpora (<c>builtin:NAME</c>).</summary>
public sealed record BuiltinCorpusSettings
{
    public static BuiltinCorpusSettings Default { get; } = new();

    /// <summary>Training sentences/sequences generated.</summary>
    public int Sentences { get; init; } = 20000;

    /// <summary>Seed of the generated corpus, apart from runtime.seed so the data stays fixed while training seeds vary.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Bits per sequence of the parity corpus.</summary>
    public int ParityLength { get; init; } = 20;

    public static BuiltinCorpusSettings Bind(ConfigSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        return new()
        {
            Sentences = section.GetInt("sentences", Default.Sentences, ValueRange.AtLeast(1)),
            Seed = section.GetLong("seed", Default.Seed),
            ParityLength = section.GetInt("parity-length", Default.ParityLength, ValueRange.AtLeast(1)),
        };
    }

    public void Write(HoconWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write("sentences", Sentences);
        writer.Write("seed", Seed);
        writer.Write("parity-length", ParityLength);
    }
}
