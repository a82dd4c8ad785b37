namespace RnnCluster.Data.Tasks;

/// <summary>How <see cref="TaskLoader"/> reads, tokenises and splits a sequence task.</summary>
public sealed record TaskOptions
{
    /// <summary>The task of plain files and directories; null = take it from the builtin or the fetched data set's manifest.</summary>
    public TaskKind? Kind { get; init; }

    /// <summary>Tokens of acceptor texts and encoder–decoder sources (transducer files are already one token per line).</summary>
    public TextTokenizer Tokenizer { get; init; } = TextTokenizer.Word;

    /// <summary>Tokens of encoder–decoder targets.</summary>
    public TextTokenizer TargetTokenizer { get; init; } = TextTokenizer.Word;

    /// <summary>Training tokens seen fewer times become &lt;unk&gt;. Ignored by the builtin tasks.</summary>
    public int MinCount { get; init; } = 1;

    public Utf8Policy Utf8Policy { get; init; } = Utf8Policy.Error;

    /// <summary>Share of a single file's examples held out for validation, chosen by hash (<see cref="HashSplit"/>).</summary>
    public double ValidFraction { get; init; } = HashSplit.DefaultValidFraction;

    /// <summary>Share of a single file's examples held out for testing, chosen by hash.</summary>
    public double TestFraction { get; init; } = HashSplit.DefaultTestFraction;

    /// <summary>Training examples of a builtin task.</summary>
    public int BuiltinSentences { get; init; } = 10_000;

    public long BuiltinSeed { get; init; } = 1;

    /// <summary>Where <c>fetched:NAME</c> looks; null = <see cref="Fetch.DataDirectories.Resolve(string?)"/>'s default.</summary>
    public string? DataDirectory { get; init; }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MinCount, 1, nameof(MinCount));
        HashSplit.ValidateFractions(ValidFraction, TestFraction);
        ArgumentOutOfRangeException.ThrowIfLessThan(BuiltinSentences, 1, nameof(BuiltinSentences));
        if (Kind == TaskKind.LanguageModel)
        {
            throw new ArgumentException("A language-model corpus is loaded by CorpusLoader, not TaskLoader.", nameof(Kind));
        }
    }
}
