using AkkaConfig = Akka.Configuration.Config;

namespace RnnCluster.Config;

/// <summary>Entry point: file (optional) + <c>--set</c> overrides -> validated <see cref="RnnClusterSettings"/>.</summary>
public static class ConfigLoader
{
    /// <param name="path">A HOCON file; null = built-in defaults plus overrides only.</param>
    /// <param name="overrides"><c>key=value</c> strings applied in order after the file.</param>
    /// <param name="environment">Lookup for <c>${VAR}</c>; null reads the process environment.</param>
    /// <remarks>No preset: the settings are exactly the defaults, the file and the overrides (see <see cref="LoadWithPreset"/>).</remarks>
    public static RnnClusterSettings Load(string? path, IReadOnlyList<string> overrides, Func<string, string?>? environment = null) =>
        RnnClusterSettings.Bind(LoadTree(path, overrides, environment));

    /// <summary>
    /// Like <see cref="Load"/>, and says which settings of the data's <see cref="BuiltinPreset"/> filled keys
    /// that the user did not set (none when the data is not built in). A key counts as set when an override
    /// gives it, or when the file gives it a value other than the built-in default: a file copied from
    /// <c>cluster.hocon</c> (which spells out every default) leaves presets working, an edited value wins.
    /// </summary>
    public static (RnnClusterSettings Settings, AppliedPreset? Preset) LoadWithPreset(string? path, IReadOnlyList<string> overrides, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        var tree = LoadTree(path, overrides, environment);
        var data = tree.TryGetValue("data.path", out var value) && value.Text is { } text && !value.IsNull ? text : DataSettings.Default.Path;
        var preset = BuiltinPreset.For(data);
        if (preset is null)
        {
            return (RnnClusterSettings.Bind(tree), null);
        }

        var file = path is null ? ConfigTree.Empty : HoconSource.ReadFile(path, environment);
        var given = ConfigOverrides.Apply(ConfigTree.Empty, overrides, environment);
        var defaults = HoconSource.ReadText(RnnClusterSettings.Default.ToHocon(), "built-in defaults", environment);
        bool SetByUser(string key) =>
            given.TryGetValue(key, out _)
            || (file.TryGetValue(key, out var fromFile) && !(defaults.TryGetValue(key, out var builtIn) && SameValue(fromFile, builtIn)));

        var applied = preset.Settings.Where(s => !SetByUser(s.Key)).ToArray();
        var overridden = preset.Settings.Where(s => SetByUser(s.Key)).Select(s => s.Key).ToArray();
        tree = ConfigOverrides.Apply(tree, applied.Select(s => $"{s.Key}={s.Value}").ToArray(), environment);
        return (RnnClusterSettings.Bind(tree), new AppliedPreset(preset, applied, overridden));
    }

    private static bool SameValue(ConfigNode a, ConfigNode b)
    {
        if (a.Text is not { } x || b.Text is not { } y)
        {
            return false;
        }

        const System.Globalization.NumberStyles number = System.Globalization.NumberStyles.Float;
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        return double.TryParse(x, number, culture, out var p) && double.TryParse(y, number, culture, out var q)
            ? p == q
            : string.Equals(x, y, StringComparison.Ordinal);
    }

    /// <summary>Like <see cref="Load"/> for text already in memory, such as the settings stored in a checkpoint.</summary>
    public static RnnClusterSettings LoadText(
        string hocon,
        string sourceName,
        IReadOnlyList<string> overrides,
        Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        var tree = HoconSource.ReadText(hocon, sourceName, environment);
        return RnnClusterSettings.Bind(ConfigOverrides.Apply(tree, overrides, environment));
    }

    /// <summary>
    /// The <c>akka</c> section of the file and overrides, checked against Akka's reference
    /// configuration, and nothing else (empty when there is none): what the actor system lays over
    /// its own settings (<c>ClusterSystem.Config</c>'s <c>extra</c>), so a key set there wins.
    /// </summary>
    public static AkkaConfig LoadAkka(string? path, IReadOnlyList<string> overrides, Func<string, string?>? environment = null) =>
        AkkaSection.From(LoadTree(path, overrides, environment));

    /// <summary>The merged configuration before binding, for reading keys outside the typed settings.</summary>
    public static ConfigTree LoadTree(string? path, IReadOnlyList<string> overrides, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        var tree = path is null ? ConfigTree.Empty : HoconSource.ReadFile(path, environment);
        return ConfigOverrides.Apply(tree, overrides, environment);
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
