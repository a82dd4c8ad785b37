namespace RnnCluster.Data;

/// <summary>How <see cref="CorpusLoader"/> reads and splits a corpus. Defaults suit a small word-level run.</summary>
public sealed record CorpusOptions
{
    public TextTokenizer Tokenizer { get; init; } = TextTokenizer.Word;

    /// <summary>Training tokens seen fewer times become &lt;unk&gt;. Ignored by the builtin corpora.</summary>
    public int MinCount { get; init; } = 1;

    public Utf8Policy Utf8Policy { get; init; } = Utf8Policy.Error;

    /// <summary>Share of lines for validation when one file is split (lines after the training ones).</summary>
    public double ValidFraction { get; init; } = 0.1;

    /// <summary>Share of lines for test when one file is split (the last lines).</summary>
    public double TestFraction { get; init; } = 0.1;

    /// <summary>Training sentences (or parity sequences) of a builtin corpus.</summary>
    public int BuiltinSentences { get; init; } = 10_000;

    public long BuiltinSeed { get; init; } = 1;

    /// <summary>Bits per sequence of builtin:parity.</summary>
    public int ParityLength { get; init; } = 16;

    /// <summary>Where <c>fetched:NAME</c> looks; null = <see cref="Fetch.DataDirectories.Resolve(string?)"/>'s default.</summary>
    public string? DataDirectory { get; init; }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MinCount, 1, nameof(MinCount));
        if (!(ValidFraction > 0 && TestFraction > 0 && ValidFraction + TestFraction < 1))
        {
            throw new ArgumentOutOfRangeException(
                nameof(ValidFraction),
                $"ValidFraction ({ValidFraction}) and TestFraction ({TestFraction}) must be positive and sum to less than 1.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(BuiltinSentences, 1, nameof(BuiltinSentences));
        ArgumentOutOfRangeException.ThrowIfLessThan(ParityLength, 1, nameof(ParityLength));
    }
}
