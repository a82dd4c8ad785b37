namespace RnnCluster.Data.Tasks;

/// <summary>
/// Token vocabularies of the sequence tasks: an ordinary <see cref="Vocabulary"/> whose reserved
/// tokens are <c>&lt;unk&gt;</c> = 0, <c>&lt;eos&gt;</c> = 1, <c>&lt;pad&gt;</c> = 2 and <c>&lt;bos&gt;</c> = 3,
/// then tokens by descending training count. Padding has an id of its own, never a real token's,
/// so a model or a test can always tell padding from data even without the lengths.
/// </summary>
public static class TaskVocabulary
{
    public const string Padding = "<pad>";
    public const string BeginOfSequence = "<bos>";

    public const int UnknownId = 0;
    public const int EndId = 1;
    public const int PaddingId = 2;
    public const int BeginId = 3;

    /// <summary>Ids below this are reserved.</summary>
    public const int FirstTokenId = 4;

    /// <summary>Counts the tokens of <paramref name="sequences"/> and keeps those seen at least <paramref name="minCount"/> times.</summary>
    public static Vocabulary Build(IEnumerable<IReadOnlyList<string>> sequences, int minCount, TextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        var counted = Vocabulary.Build(sequences.SelectMany(s => s), minCount, tokenizer);
        return FromTokens(counted.Tokens.Skip(2), tokenizer);
    }

    /// <summary>The reserved tokens then <paramref name="tokens"/> in the given order (reserved names and repeats skipped).</summary>
    public static Vocabulary FromTokens(IEnumerable<string> tokens, TextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var all = new List<string> { Vocabulary.Unknown, Vocabulary.EndOfSentence, Padding, BeginOfSequence };
        var seen = new HashSet<string>(all, StringComparer.Ordinal);
        foreach (var token in tokens)
        {
            if (seen.Add(token))
            {
                all.Add(token);
            }
        }

        return Vocabulary.FromTokens(all, tokenizer);
    }

    /// <summary>Whether <paramref name="vocabulary"/> has the reserved tokens of a task vocabulary at their ids.</summary>
    public static bool IsTaskVocabulary(Vocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        return vocabulary.Count >= FirstTokenId && vocabulary[PaddingId] == Padding && vocabulary[BeginId] == BeginOfSequence;
    }

    /// <summary>
    /// The tokens of one example's text: whitespace-separated words, or Unicode scalars. No end-of-sentence
    /// marker is added; a line break inside the text separates words like any whitespace.
    /// </summary>
    public static List<string> Tokenize(string text, TextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = new List<string>();
        var enumerator = new TokenEnumerator(text, tokenizer);
        while (enumerator.MoveNext())
        {
            if (!enumerator.IsEndOfSentence)
            {
                tokens.Add(enumerator.Current.ToString());
            }
        }

        return tokens;
    }

    /// <summary>Ids of <paramref name="tokens"/>; unknown tokens, and text that spells a reserved token, become <see cref="UnknownId"/>.</summary>
    public static int[] Encode(IReadOnlyList<string> tokens, Vocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(vocabulary);
        var ids = new int[tokens.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            var id = vocabulary.IdOf(tokens[i]);
            ids[i] = id < FirstTokenId ? UnknownId : id;
        }

        return ids;
    }
}
