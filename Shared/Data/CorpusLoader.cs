using RnnCluster.Data.Fetch;
using RnnCluster.Data.Tasks;

namespace RnnCluster.Data;

/// <summary>
/// Turns a corpus spec into encoded splits. A spec is a builtin name (builtin:agreement,
/// builtin:parity), a directory holding train.txt, valid.txt and test.txt (a fetched data set's
/// directory, or <c>fetched:NAME</c>, is verified against its manifest first), or one text file whose
/// lines are split contiguously: the first lines train, the next valid, the last test.
/// The vocabulary comes from the training split only, so held-out words it lacks become &lt;unk&gt;.
/// </summary>
public static class CorpusLoader
{
    private static readonly string[] SplitFiles = ["train.txt", "valid.txt", "test.txt"];

    public static Corpus Load(string spec, CorpusOptions options)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (spec.StartsWith(BuiltinCorpora.Prefix, StringComparison.Ordinal))
        {
            return BuiltinCorpora.Load(spec, options);
        }

        spec = DataDirectories.ResolveSpec(spec, options.DataDirectory);
        if (Directory.Exists(spec))
        {
            return LoadDirectory(spec, options);
        }

        return LoadSingleFile(spec, options);
    }

    /// <summary>
    /// The evaluation split of <paramref name="spec"/> encoded with an existing vocabulary (the one a
    /// model was trained with): a builtin's test split, a directory's test.txt, or a whole file.
    /// </summary>
    public static TokenSplit LoadForEvaluation(string spec, Vocabulary vocabulary, CorpusOptions options)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (spec.StartsWith(BuiltinCorpora.Prefix, StringComparison.Ordinal))
        {
            var corpus = BuiltinCorpora.Load(spec, options);
            return Remap(corpus.Test, corpus.Vocabulary, vocabulary);
        }

        var path = DataDirectories.ResolveSpec(spec, options.DataDirectory);
        if (Directory.Exists(path))
        {
            VerifyIfFetched(path);
            var directory = path;
            path = Path.Combine(directory, "test.txt");
            RequireFile(directory, path);
        }

        var (text, _) = Utf8TextReader.Read(path, options.Utf8Policy);
        return EncodeHeldOut(text, vocabulary, path, "the file");
    }

    private static Corpus LoadDirectory(string directory, CorpusOptions options)
    {
        VerifyIfFetched(directory);
        var paths = SplitFiles.Select(name => Path.Combine(directory, name)).ToArray();
        foreach (var path in paths)
        {
            RequireFile(directory, path);
        }

        var (trainText, trainReplaced) = Utf8TextReader.Read(paths[0], options.Utf8Policy);
        var (vocabulary, train) = EncodeTraining(trainText, options, paths[0], "the corpus");
        var (validText, validReplaced) = Utf8TextReader.Read(paths[1], options.Utf8Policy);
        var valid = EncodeHeldOut(validText, vocabulary, paths[1], "the file");
        var (testText, testReplaced) = Utf8TextReader.Read(paths[2], options.Utf8Policy);
        var test = EncodeHeldOut(testText, vocabulary, paths[2], "the file");
        return new Corpus(vocabulary, CorpusTask.LanguageModel, train, valid, test, directory, trainReplaced + validReplaced + testReplaced);
    }

    private static Corpus LoadSingleFile(string path, CorpusOptions options)
    {
        var (text, replaced) = Utf8TextReader.Read(path, options.Utf8Policy);
        if (!HasWordOrChar(text, options.Tokenizer))
        {
            throw new DataException($"{path}: the corpus is empty");
        }

        var lineStarts = LineStarts(text);
        var lines = lineStarts.Count - 1;

        // Rounding, not truncation: 0.29 * 100 is 28.999… in binary and must give 29 lines.
        var validLines = (int)Math.Round(lines * options.ValidFraction, MidpointRounding.AwayFromZero);
        var testLines = (int)Math.Round(lines * options.TestFraction, MidpointRounding.AwayFromZero);
        var trainLines = lines - validLines - testLines;
        if (validLines < 1 || testLines < 1 || trainLines < 1)
        {
            throw new DataException(
                $"{path}: {lines} lines cannot be split into train/valid/test by fractions {options.ValidFraction} and {options.TestFraction} " +
                $"({trainLines}/{validLines}/{testLines} lines; every split needs at least one): use a larger file or a directory with train.txt, valid.txt and test.txt");
        }

        string Slice(int firstLine, int count) => text[lineStarts[firstLine]..lineStarts[firstLine + count]];
        string Describe(string split, int firstLine, int count) => $"the {split} split (lines {firstLine + 1}-{firstLine + count})";

        var (vocabulary, train) = EncodeTraining(Slice(0, trainLines), options, path, Describe("train", 0, trainLines));
        var valid = EncodeHeldOut(Slice(trainLines, validLines), vocabulary, path, Describe("valid", trainLines, validLines));
        var test = EncodeHeldOut(Slice(trainLines + validLines, testLines), vocabulary, path, Describe("test", trainLines + validLines, testLines));
        return new Corpus(vocabulary, CorpusTask.LanguageModel, train, valid, test, path, replaced);
    }

    private static (Vocabulary Vocabulary, TokenSplit Split) EncodeTraining(string text, CorpusOptions options, string path, string what)
    {
        if (!HasWordOrChar(text, options.Tokenizer))
        {
            throw new DataException($"{path}: {what} is empty");
        }

        var counter = new TokenCounter();
        var provisional = new List<int>();
        var enumerator = new TokenEnumerator(text, options.Tokenizer);
        while (enumerator.MoveNext())
        {
            provisional.Add(enumerator.IsEndOfSentence ? TokenCounter.ProvisionalEndOfSentence : counter.Add(enumerator.Current));
        }

        var vocabulary = Vocabulary.Build(counter, options.MinCount, options.Tokenizer);
        var map = counter.MapTo(vocabulary);
        var ids = new int[provisional.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = TokenCounter.Remap(provisional[i], map, vocabulary);
        }

        return (vocabulary, TokenSplit.ForLanguageModel(ids));
    }

    private static TokenSplit EncodeHeldOut(string text, Vocabulary vocabulary, string path, string what)
    {
        if (!HasWordOrChar(text, vocabulary.Tokenizer))
        {
            throw new DataException($"{path}: {what} is empty");
        }

        return TokenSplit.ForLanguageModel(Tokenizer.Encode(text, vocabulary));
    }

    // A text of blank lines has only end-of-sentence markers: nothing to learn, so it counts as empty.
    private static bool HasWordOrChar(string text, TextTokenizer kind)
    {
        var enumerator = new TokenEnumerator(text, kind);
        while (enumerator.MoveNext())
        {
            if (!enumerator.IsEndOfSentence)
            {
                return true;
            }
        }

        return false;
    }

    // Offsets where each line starts, plus the text's length as a sentinel: line i is [starts[i], starts[i+1]).
    private static List<int> LineStarts(string text)
    {
        var starts = new List<int> { 0 };
        for (var i = text.IndexOf('\n', StringComparison.Ordinal); i >= 0; i = text.IndexOf('\n', i + 1))
        {
            starts.Add(i + 1);
        }

        if (starts[^1] != text.Length)
        {
            starts.Add(text.Length);
        }

        return starts;
    }

    // A fetched data set is used only if every file still has the hash its manifest recorded.
    private static void VerifyIfFetched(string directory)
    {
        if (!File.Exists(Path.Combine(directory, DatasetManifest.FileName)))
        {
            return;
        }

        var manifest = DatasetManifest.Verify(directory);
        if (manifest.Kind != TaskKind.LanguageModel)
        {
            throw new DataException($"{directory} holds the {manifest.Kind.ToName()} data set {manifest.Name}, not a language-model corpus");
        }
    }

    private static void RequireFile(string directory, string path)
    {
        if (!File.Exists(path))
        {
            throw new DataException($"missing file {path} (a corpus directory {directory} needs train.txt, valid.txt and test.txt)");
        }
    }

    private static TokenSplit Remap(TokenSplit split, Vocabulary from, Vocabulary to)
    {
        if (from.Hash == to.Hash)
        {
            return split;
        }

        int Map(int id) => id == TokenSplit.Ignored ? id : to.IdOf(from[id]);
        return new TokenSplit(split.Inputs.Select(Map).ToArray(), split.Targets.Select(Map).ToArray());
    }
}
