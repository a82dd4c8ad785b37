namespace RnnCluster.Data.Tasks;

/// <summary>
/// Reads the three task formats, strictly: UTF-8 through <see cref="Utf8TextReader"/>, and every
/// malformed line is a <see cref="DataException"/> that names <c>file:line</c> and what is wrong.
/// <list type="bullet">
/// <item>acceptor: <c>label&lt;TAB&gt;text</c>, one example per line;</item>
/// <item>encoder–decoder: <c>source&lt;TAB&gt;target</c>, one example per line;</item>
/// <item>transducer: CoNLL-style <c>token&lt;TAB&gt;tag</c>, one token per line, a blank line after each sentence.</item>
/// </list>
/// Lines end at "\n" (a "\r" before it is dropped); blank lines between TSV examples are skipped.
/// A text or target may not contain a tab, so a line has exactly two fields. A file without a single
/// example is an error: an empty split would otherwise surface much later as a division by zero.
/// </summary>
public static class TaskFileReader
{
    public static TaskFile<LabelledSequence> ReadLabelled(string path, Utf8Policy policy)
    {
        var (text, replaced) = Utf8TextReader.Read(path, policy);
        return new TaskFile<LabelledSequence>(path, ParseLabelled(text, path), replaced);
    }

    public static TaskFile<TaggedSequence> ReadTagged(string path, Utf8Policy policy)
    {
        var (text, replaced) = Utf8TextReader.Read(path, policy);
        return new TaskFile<TaggedSequence>(path, ParseTagged(text, path), replaced);
    }

    public static TaskFile<SequencePair> ReadPairs(string path, Utf8Policy policy)
    {
        var (text, replaced) = Utf8TextReader.Read(path, policy);
        return new TaskFile<SequencePair>(path, ParsePairs(text, path), replaced);
    }

    /// <summary>Parses <c>label&lt;TAB&gt;text</c> lines; <paramref name="sourceName"/> labels errors and positions.</summary>
    public static IReadOnlyList<LabelledSequence> ParseLabelled(string text, string sourceName)
    {
        var examples = new List<LabelledSequence>();
        foreach (var (line, number) in Lines(text, sourceName))
        {
            if (IsBlank(line))
            {
                continue;
            }

            var position = new SourcePosition(sourceName, number);
            var (label, body) = SplitFields(line, position, "label", "text");
            examples.Add(new LabelledSequence(label.Trim(), body, position));
        }

        return RequireExamples(examples, sourceName, "'label<TAB>text' lines");
    }

    /// <summary>Parses <c>source&lt;TAB&gt;target</c> lines.</summary>
    public static IReadOnlyList<SequencePair> ParsePairs(string text, string sourceName)
    {
        var examples = new List<SequencePair>();
        foreach (var (line, number) in Lines(text, sourceName))
        {
            if (IsBlank(line))
            {
                continue;
            }

            var position = new SourcePosition(sourceName, number);
            var (source, target) = SplitFields(line, position, "source", "target");
            examples.Add(new SequencePair(source, target, position));
        }

        return RequireExamples(examples, sourceName, "'source<TAB>target' lines");
    }

    /// <summary>Parses CoNLL-style <c>token&lt;TAB&gt;tag</c> lines with a blank line between sentences.</summary>
    public static IReadOnlyList<TaggedSequence> ParseTagged(string text, string sourceName)
    {
        var examples = new List<TaggedSequence>();
        var tokens = new List<string>();
        var tags = new List<string>();
        var firstLine = 0;
        foreach (var (line, number) in Lines(text, sourceName))
        {
            if (IsBlank(line))
            {
                Flush();
                continue;
            }

            var (token, tag) = SplitFields(line, new SourcePosition(sourceName, number), "token", "tag");
            if (tokens.Count == 0)
            {
                firstLine = number;
            }

            tokens.Add(token.Trim());
            tags.Add(tag.Trim());
        }

        Flush();
        return RequireExamples(examples, sourceName, "'token<TAB>tag' lines");

        void Flush()
        {
            if (tokens.Count > 0)
            {
                examples.Add(new TaggedSequence([.. tokens], [.. tags], new SourcePosition(sourceName, firstLine)));
                tokens.Clear();
                tags.Clear();
            }
        }
    }

    private static (ReadOnlyMemory<char> Line, int Number)[] Lines(string text, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(sourceName);
        var lines = new List<(ReadOnlyMemory<char>, int)>();
        var memory = text.AsMemory();
        var start = 0;
        var number = 1;
        while (start < text.Length)
        {
            var end = text.IndexOf('\n', start);
            var stop = end < 0 ? text.Length : end;
            var line = memory[start..stop];
            if (line.Span.EndsWith('\r'))
            {
                line = line[..^1];
            }

            lines.Add((line, number++));
            start = stop + 1;
        }

        return [.. lines];
    }

    private static bool IsBlank(ReadOnlyMemory<char> line) => line.Span.IsWhiteSpace();

    // Exactly two non-empty fields around one tab; each failure says which field and what was seen.
    private static (string First, string Second) SplitFields(
        ReadOnlyMemory<char> memory, SourcePosition position, string firstName, string secondName)
    {
        var line = memory.Span;
        var tab = line.IndexOf('\t');
        if (tab < 0)
        {
            throw new DataException($"{position}: expected '{firstName}<TAB>{secondName}' but the line has no tab: \"{Preview(line)}\"");
        }

        var first = line[..tab];
        var second = line[(tab + 1)..];
        if (second.Contains('\t'))
        {
            throw new DataException(
                $"{position}: expected '{firstName}<TAB>{secondName}' but the line has {line.Count('\t') + 1} tab-separated fields (a {secondName} may not contain a tab)");
        }

        if (first.IsWhiteSpace())
        {
            throw new DataException($"{position}: empty {firstName} before the tab");
        }

        if (second.IsWhiteSpace())
        {
            throw new DataException($"{position}: empty {secondName} after the tab");
        }

        return (first.ToString(), second.ToString());
    }

    private static List<T> RequireExamples<T>(List<T> examples, string sourceName, string expected) =>
        examples.Count > 0 ? examples : throw new DataException($"{sourceName}: empty data set (no {expected})");

    private static string Preview(ReadOnlySpan<char> line)
    {
        const int Max = 40;
        return line.Length <= Max ? line.ToString() : string.Concat(line[..Max], "…");
    }
}
