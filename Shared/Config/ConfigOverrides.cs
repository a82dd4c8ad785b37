namespace RnnCluster.Config;

/// <summary>
/// Applies <c>--set key=value</c> overrides to a read configuration, in order, after the file. The
/// value is HOCON (<c>0.5</c>, <c>gru</c>, <c>"a b.txt"</c>, <c>[1, 2]</c>, <c>{ layers = 3 }</c>); text
/// HOCON cannot hold unquoted, such as <c>cuda:1</c> or <c>C:\data</c>, is taken literally so
/// shells need no extra quoting. <c>${VAR}</c> in a value names an environment variable.
/// </summary>
public static class ConfigOverrides
{
    /// <summary>Returns <paramref name="tree"/> with each override laid on top, the later ones over the earlier.</summary>
    public static ConfigTree Apply(ConfigTree tree, IReadOnlyList<string> overrides, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(tree);
        ArgumentNullException.ThrowIfNull(overrides);
        environment ??= Environment.GetEnvironmentVariable;
        foreach (var text in overrides)
        {
            ArgumentNullException.ThrowIfNull(text);
            var equals = text.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0)
            {
                throw new ConfigException($"--set '{text}': expected key=value");
            }

            var key = text[..equals].Trim();
            if (key.Length == 0)
            {
                throw new ConfigException($"--set '{text}': the key is empty; expected key=value");
            }

            var path = key.Split('.');
            if (path.Any(segment => segment.Length == 0 || segment.Any(char.IsWhiteSpace)))
            {
                throw new ConfigException($"--set '{text}': '{key}' is not a valid key path (segments separated by '.')");
            }

            var layer = ReadValue(path, text[(equals + 1)..], ConfigOrigin.Override(text), environment);
            if (layer is not null)
            {
                tree = tree.Overlay(layer);
            }
        }

        return tree;
    }

    private static ConfigTree? ReadValue(string[] path, string valueText, ConfigOrigin origin, Func<string, string?> environment)
    {
        try
        {
            return HoconSource.ReadOverride(path, valueText, origin, environment);
        }
        catch (ConfigException) when (valueText.Trim().Length > 0 && valueText.IndexOfAny(['"', '{', '}', '[', ']', '$']) < 0)
        {
            // Errors that are rethrown already name the override through their origin.
            return HoconSource.ReadLiteralOverride(path, valueText.Trim(), origin);
        }
    }

    /// <summary>Name of the environment variable with extra overrides, <c>key=value;key=value</c>.</summary>
    public const string EnvironmentVariable = "RNNCLUSTER_SET";

    /// <summary>
    /// The overrides in <see cref="EnvironmentVariable"/>, for per-node values where a command line is
    /// awkward to template (a Kubernetes pod's own host name, a systemd EnvironmentFile). Applied
    /// before <c>--set</c>, so the command line wins.
    /// </summary>
    public static IReadOnlyList<string> FromEnvironment(Func<string, string?>? environment = null)
    {
        var text = (environment ?? Environment.GetEnvironmentVariable)(EnvironmentVariable);
        return string.IsNullOrWhiteSpace(text)
            ? []
            : [.. text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
    }
}
