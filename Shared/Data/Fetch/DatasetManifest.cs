using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using RnnCluster.Data.Tasks;

namespace RnnCluster.Data.Fetch;

/// <summary>
/// <c>manifest.json</c> of a fetched data set: where it came from (package, version, tarball SHA-256),
/// what it is (task kind, tokenizers, split fractions), and every output file with its SHA-256, size
/// and example count. Written last, inside the temporary directory that is then renamed into place;
/// <see cref="Verify"/> re-hashes every file before a data set is used, so a corrupted or half-copied
/// cache is named instead of silently training on it.
/// </summary>
public sealed record DatasetManifest
{
    public const string FileName = "manifest.json";
    public const int CurrentFormatVersion = 1;

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public required int FormatVersion { get; init; }

    public required string Name { get; init; }

    /// <summary>The task kind's name (<see cref="TaskKindNames"/>).</summary>
    public required string Task { get; init; }

    public required string Package { get; init; }

    public required string Version { get; init; }

    public required string TarballSha256 { get; init; }

    /// <summary>"word" or "char": how texts (acceptor, language model) or sources (encoder–decoder) are tokenised.</summary>
    public required string SourceTokenizer { get; init; }

    /// <summary>"word" or "char" for encoder–decoder targets; null otherwise.</summary>
    public string? TargetTokenizer { get; init; }

    public required double ValidFraction { get; init; }

    public required double TestFraction { get; init; }

    public required IReadOnlyList<DatasetFileRecord> Files { get; init; }

    /// <summary>Examples of the package left out, by reason ("duplicate bodies": 207).</summary>
    public required IReadOnlyDictionary<string, long> Skipped { get; init; }

    [JsonIgnore]
    public TaskKind Kind => TaskKindNames.TryParse(Task, out var kind) ? kind : throw new DataException($"unknown task '{Task}' in {Name}/{FileName}");

    public DatasetFileRecord FileOf(DataSplit split) =>
        Files.Single(f => string.Equals(f.Split, SplitName(split), StringComparison.Ordinal));

    public static string SplitName(DataSplit split) => split switch
    {
        DataSplit.Train => "train",
        DataSplit.Valid => "valid",
        _ => "test",
    };

    public static string TokenizerName(TextTokenizer tokenizer) => tokenizer == TextTokenizer.Char ? "char" : "word";

    public static TextTokenizer ParseTokenizer(string name, string path) => name switch
    {
        "word" => TextTokenizer.Word,
        "char" => TextTokenizer.Char,
        _ => throw new DataException($"{path}: unknown tokenizer \"{name}\" (known: word, char)"),
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions) + "\n";

    /// <summary>Reads and checks the manifest of <paramref name="directory"/>, without hashing the data files.</summary>
    public static DatasetManifest Read(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            throw new DataException($"missing file {path}: {directory} is not a fetched data set, or its fetch did not finish (fetch it again with 'rnncluster data fetch NAME --force')");
        }

        DatasetManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<DatasetManifest>(File.ReadAllText(path, Encoding.UTF8), JsonOptions);
        }
        catch (JsonException e)
        {
            throw new DataException($"{path}: not a valid data set manifest: {e.Message}", e);
        }

        if (manifest is null)
        {
            throw new DataException($"{path}: not a valid data set manifest: null");
        }

        manifest.Check(path);
        return manifest;
    }

    /// <summary>Reads the manifest and re-hashes every file it lists; any difference is a <see cref="DataException"/> naming the file and both hashes.</summary>
    public static DatasetManifest Verify(string directory)
    {
        var manifest = Read(directory);
        foreach (var file in manifest.Files)
        {
            var path = Path.Combine(directory, file.Path);
            if (!File.Exists(path))
            {
                throw new DataException($"missing file {path} listed in {Path.Combine(directory, FileName)}; fetch it again with 'rnncluster data fetch {manifest.Name} --force'");
            }

            var actual = FileHashes.Sha256(path);
            if (!string.Equals(actual, file.Sha256, StringComparison.Ordinal))
            {
                throw new DataException(
                    $"{path} is corrupt: SHA-256 mismatch (manifest {file.Sha256}, file {actual}); fetch it again with 'rnncluster data fetch {manifest.Name} --force'");
            }
        }

        return manifest;
    }

    /// <summary>Writes the manifest into <paramref name="directory"/> and flushes it to disk.</summary>
    public void Write(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        using var stream = new FileStream(Path.Combine(directory, FileName), FileMode.CreateNew, FileAccess.Write, FileShare.None);
        stream.Write(new UTF8Encoding(false).GetBytes(ToJson()));
        stream.Flush(flushToDisk: true);
    }

    private void Check(string path)
    {
        if (FormatVersion > CurrentFormatVersion)
        {
            throw new DataException($"{path}: format version {FormatVersion} was written by a newer rnncluster; this one reads version {CurrentFormatVersion}");
        }

        _ = Kind;
        ParseTokenizer(SourceTokenizer, path);
        if (TargetTokenizer is not null)
        {
            ParseTokenizer(TargetTokenizer, path);
        }

        foreach (var split in Enum.GetValues<DataSplit>())
        {
            var count = Files.Count(f => string.Equals(f.Split, SplitName(split), StringComparison.Ordinal));
            if (count != 1)
            {
                throw new DataException($"{path}: expected one {SplitName(split)} file, found {count}");
            }
        }

        foreach (var file in Files)
        {
            // Only plain names inside the data set's own directory.
            if (string.IsNullOrEmpty(file.Path) || Path.GetFileName(file.Path) != file.Path || file.Path is "." or "..")
            {
                throw new DataException($"{path}: file name '{file.Path}' is not a plain file name");
            }
        }
    }
}

/// <summary>One file of a fetched data set: its split, name, SHA-256 (lower-case hex), size in bytes and example count.</summary>
public sealed record DatasetFileRecord(string Split, string Path, string Sha256, long Bytes, int Examples);
