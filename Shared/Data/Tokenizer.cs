using System.Text;

namespace RnnCluster.Data;

/// <summary>
/// Text to token ids and back. Word level splits each line on whitespace; char level makes each
/// Unicode scalar a token. Both append <see cref="Vocabulary.EndOfSentence"/> at every line end.
/// </summary>
public static class Tokenizer
{
    /// <summary>The token strings of <paramref name="text"/>, end-of-sentence markers included.</summary>
    public static IReadOnlyList<string> Tokenize(string text, TextTokenizer kind)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = new List<string>();
        var enumerator = new TokenEnumerator(text, kind);
        while (enumerator.MoveNext())
        {
            tokens.Add(enumerator.IsEndOfSentence ? Vocabulary.EndOfSentence : enumerator.Current.ToString());
        }

        return tokens;
    }

    /// <summary>Ids of <paramref name="text"/> under the vocabulary's own tokenizer; unknown tokens become <see cref="Vocabulary.UnknownId"/>.</summary>
    public static int[] Encode(string text, Vocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Encode(text.AsSpan(), vocabulary);
    }

    public static int[] Encode(ReadOnlySpan<char> text, Vocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        var ids = new List<int>();
        var enumerator = new TokenEnumerator(text, vocabulary.Tokenizer);
        while (enumerator.MoveNext())
        {
            ids.Add(enumerator.IsEndOfSentence ? vocabulary.EndOfSentenceId : vocabulary.IdOf(enumerator.Current));
        }

        return [.. ids];
    }

    /// <summary>
    /// Text of <paramref name="ids"/>: word level joins tokens with spaces, char level concatenates;
    /// <see cref="Vocabulary.EndOfSentence"/> becomes a newline in both.
    /// </summary>
    public static string Decode(ReadOnlySpan<int> ids, Vocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        var text = new StringBuilder();
        var atLineStart = true;
        foreach (var id in ids)
        {
            if (id == vocabulary.EndOfSentenceId)
            {
                text.Append('\n');
                atLineStart = true;
                continue;
            }

            if (vocabulary.Tokenizer == TextTokenizer.Word && !atLineStart)
            {
                text.Append(' ');
            }

            text.Append(vocabulary[id]);
            atLineStart = false;
        }

        return text.ToString();
    }
}
