namespace RnnCluster.Data;

/// <summary>
/// One sentence of <see cref="AgreementGrammar"/> with what the agreement classifier and the tagger
/// need: a tag per word, where the main verb and its subject are, and their number.
/// </summary>
public sealed class GeneratedSentence
{
    public GeneratedSentence(
        IReadOnlyList<string> words,
        IReadOnlyList<PartOfSpeech> tags,
        int subjectIndex,
        GrammaticalNumber subjectNumber,
        int verbIndex,
        GrammaticalNumber verbNumber,
        int attractorCount)
    {
        ArgumentNullException.ThrowIfNull(words);
        ArgumentNullException.ThrowIfNull(tags);
        if (words.Count != tags.Count)
        {
            throw new ArgumentException($"{words.Count} words but {tags.Count} tags.", nameof(tags));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(subjectIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(subjectIndex, verbIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(verbIndex, words.Count);
        ArgumentOutOfRangeException.ThrowIfNegative(attractorCount);
        Words = words;
        Tags = tags;
        SubjectIndex = subjectIndex;
        SubjectNumber = subjectNumber;
        VerbIndex = verbIndex;
        VerbNumber = verbNumber;
        AttractorCount = attractorCount;
    }

    public IReadOnlyList<string> Words { get; }

    public IReadOnlyList<PartOfSpeech> Tags { get; }

    /// <summary>Index in <see cref="Words"/> of the head noun of the main clause's subject.</summary>
    public int SubjectIndex { get; }

    public GrammaticalNumber SubjectNumber { get; }

    /// <summary>Index in <see cref="Words"/> of the main clause's verb (the copula counts).</summary>
    public int VerbIndex { get; }

    public GrammaticalNumber VerbNumber { get; }

    /// <summary>Nouns between subject and main verb whose number differs from the subject's.</summary>
    public int AttractorCount { get; }

    /// <summary>The words joined by single spaces, as one corpus line.</summary>
    public string Text => string.Join(' ', Words);
}
