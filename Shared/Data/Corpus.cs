namespace RnnCluster.Data;

/// <summary>A loaded corpus: its vocabulary (from the training split only) and three encoded splits.</summary>
public sealed class Corpus
{
    public Corpus(Vocabulary vocabulary, CorpusTask task, TokenSplit train, TokenSplit valid, TokenSplit test, string source, long replacedBytes)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(valid);
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegative(replacedBytes);
        Vocabulary = vocabulary;
        Task = task;
        Train = train;
        Valid = valid;
        Test = test;
        Source = source;
        ReplacedBytes = replacedBytes;
    }

    public Vocabulary Vocabulary { get; }

    public CorpusTask Task { get; }

    public TokenSplit Train { get; }

    public TokenSplit Valid { get; }

    public TokenSplit Test { get; }

    /// <summary>Where it came from: a file or directory path, or a builtin name such as builtin:agreement.</summary>
    public string Source { get; }

    /// <summary>Bytes replaced by U+FFFD under <see cref="Utf8Policy.Replace"/>, over all files read.</summary>
    public long ReplacedBytes { get; }
}
