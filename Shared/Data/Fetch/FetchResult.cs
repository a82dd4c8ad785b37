namespace RnnCluster.Data.Fetch;

/// <summary>A fetched (or already cached) data set and where the time went.</summary>
public sealed record FetchResult(
    DatasetEntry Entry,
    string Directory,
    DatasetManifest Manifest,
    bool WasCached,
    long TarballBytes,
    TimeSpan PackTime,
    TimeSpan ExtractTime,
    TimeSpan ConvertTime,
    TimeSpan TotalTime);
