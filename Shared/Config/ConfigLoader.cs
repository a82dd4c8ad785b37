namespace RnnCluster.Config;

/// <summary>Entry point: file (optional) + <c>--set</c> overrides -> validated <see cref="RnnClusterSettings"/>.</summary>
public static class ConfigLoader
{
    /// <param name="path">A HOCON file; null = built-in defaults plus overrides only.</param>
    /// <param name="overrides"><c>key=value</c> strings applied in order after the file.</param>
    /// <param name="environment">Lookup for <c>${VAR}</c>; null reads the process environment.</param>
    public static RnnClusterSettings Load(string? path, IReadOnlyList<string> overrides, Func<string, string?>? environment = null) =>
        RnnClusterSettings.Bind(LoadTree(path, overrides, environment));

    /// <summary>Like <see cref="Load"/> for text already in memory, such as the settings stored in a checkpoint.</summary>
    public static RnnClusterSettings LoadText(
        string hocon,
        string sourceName,
        IReadOnlyList<string> overrides,
        Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        var tree = HoconReader.ParseText(hocon, sourceName, environment);
        ConfigOverrides.Apply(tree, overrides, environment);
        return RnnClusterSettings.Bind(tree);
    }

    /// <summary>The merged tree before binding, for reading keys outside the typed settings.</summary>
    public static HoconObject LoadTree(string? path, IReadOnlyList<string> overrides, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        var tree = path is null ? new HoconObject(ConfigOrigin.BuiltIn) : HoconReader.ParseFile(path, environment);
        ConfigOverrides.Apply(tree, overrides, environment);
        return tree;
    }
}
