namespace RnnCluster.Data.Fetch;

/// <summary>The state of one catalogue data set in a data directory.</summary>
public enum DatasetState
{
    /// <summary>Not fetched into this directory.</summary>
    Missing,

    /// <summary>Fetched from the pinned package, every file's hash verified.</summary>
    Cached,

    /// <summary>Present but failing verification (a changed, missing or unreadable file); <see cref="DatasetStatus.Problem"/> says which.</summary>
    Corrupt,

    /// <summary>Intact but fetched from another package version or tarball than the catalogue pins now.</summary>
    Outdated,
}

/// <summary>What <see cref="DatasetFetcher.Inspect"/> found for one data set.</summary>
public sealed record DatasetStatus(DatasetState State, string Directory, DatasetManifest? Manifest, string? Problem);
