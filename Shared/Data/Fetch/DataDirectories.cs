namespace RnnCluster.Data.Fetch;

/// <summary>
/// Where fetched data sets are cached: an explicit directory (<c>--data-dir</c>, <c>data.dir</c>), else
/// <c>$RNNCLUSTER_DATA</c>, else <c>~/.cache/rnncluster/datasets</c>. Data sets are never kept in the repository.
/// </summary>
public static class DataDirectories
{
    public const string EnvironmentVariable = "RNNCLUSTER_DATA";

    /// <summary>The spec prefix of a fetched data set: <c>fetched:cmudict</c>.</summary>
    public const string FetchedPrefix = "fetched:";

    /// <summary>
    /// <c>fetched:NAME</c> → the data set's directory in the data directory (an error saying how to fetch it
    /// when absent); any other spec is returned unchanged.
    /// </summary>
    public static string ResolveSpec(string spec, string? explicitDirectory)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (!spec.StartsWith(FetchedPrefix, StringComparison.Ordinal))
        {
            return spec;
        }

        var name = spec[FetchedPrefix.Length..];
        var entry = DatasetCatalog.Get(name);
        var dataDirectory = Resolve(explicitDirectory);
        var directory = Path.Combine(dataDirectory, entry.Name);
        return Directory.Exists(directory)
            ? directory
            : throw new DataException($"data set {name} is not in {dataDirectory}: fetch it with 'rnncluster data fetch {name}'");
    }

    /// <summary>The cache directory as a full path; <paramref name="explicitDirectory"/> wins when non-empty.</summary>
    public static string Resolve(string? explicitDirectory) => Resolve(explicitDirectory, Environment.GetEnvironmentVariable);

    public static string Resolve(string? explicitDirectory, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (!string.IsNullOrWhiteSpace(explicitDirectory))
        {
            return Path.GetFullPath(explicitDirectory);
        }

        var fromEnvironment = environment(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return Path.GetFullPath(fromEnvironment);
        }

        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(home, ".cache", "rnncluster", "datasets");
    }
}
