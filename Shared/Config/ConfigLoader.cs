namespace RnnCluster.Config;

/// <summary>Entry point: file (optional) + <c>--set</c> overrides -> validated <see cref="RnnClusterSettings"/>.</summary>
public static class ConfigLoader
{
    /// <param name="path">A HOCON file; null = built-in defaults plus overrides only.</param>
    /// <param name="overrides"><c>key=value</c> strings applied in order after the file.</param>
    /// <param name="environment">Lookup for <c>${VAR}</c>; null reads the process environment.</param>
    public static RnnClusterSettings Load(string? path, IReadOnlyList<string> overrides, Func<string, string?>? environment = null) =>
        LoadWithPreset(path, overrides, environment).Settings;

    /// <summary>
    /// Like <see cref="Load"/>, and says which settings of the data's <see cref="BuiltinPreset"/> filled keys
    /// that the file and the overrides left unset (none when the data is not built in).
    /// </summary>
    public static (RnnClusterSettings Settings, AppliedPreset? Preset) LoadWithPreset(string? path, IReadOnlyList<string> overrides, Func<string, string?>? environment = null)
    {
        var tree = LoadTree(path, overrides, environment);
        var data = tree.TryGetValue("data.path", out var value) && value is HoconScalar ? tree.GetString("data.path") : DataSettings.Default.Path;
        var preset = BuiltinPreset.For(data);
        if (preset is null)
        {
            return (RnnClusterSettings.Bind(tree), null);
        }

        var applied = preset.Settings.Where(s => !tree.TryGetValue(s.Key, out _)).ToArray();
        var overridden = preset.Settings.Where(s => tree.TryGetValue(s.Key, out _)).Select(s => s.Key).ToArray();
        ConfigOverrides.Apply(tree, applied.Select(s => $"{s.Key}={s.Value}").ToArray(), environment);
        return (RnnClusterSettings.Bind(tree), new AppliedPreset(preset, applied, overridden));
    }

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

/// <summary>What a <see cref="BuiltinPreset"/> set (keys left unset by the user) and which of its keys the user's settings overrode.</summary>
public sealed record AppliedPreset(BuiltinPreset Preset, IReadOnlyList<KeyValuePair<string, string>> Applied, IReadOnlyList<string> Overridden)
{
    /// <summary>One line for the banner.</summary>
    public override string ToString()
    {
        var text = $"preset {Preset.Data} ({Preset.Result})";
        if (Applied.Count > 0)
        {
            text += ": " + BuiltinPreset.Describe(Applied);
        }

        return Overridden.Count > 0 ? text + $"; your settings override {string.Join(", ", Overridden)}" : text;
    }
}
