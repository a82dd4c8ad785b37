namespace RnnCluster.Config;

/// <summary>
/// Reads the HOCON subset RnnCluster uses: objects (merged when a key repeats), dotted keys,
/// <c>=</c>/<c>:</c> separators or none before <c>{</c>, arrays, <c>#</c> and <c>//</c> comments,
/// quoted (with escapes), triple-quoted and unquoted strings, numbers, booleans, null,
/// <c>include "relative.conf"</c>, and environment substitutions <c>${VAR}</c> (required) and
/// <c>${?VAR}</c> (optional). Durations and sizes are strings read by typed getters.
/// </summary>
public static class HoconReader
{
    /// <summary>Reads a file; includes are relative to its directory.</summary>
    /// <param name="environment">Variable lookup for substitutions; null reads the process environment.</param>
    public static HoconObject ParseFile(string path, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            throw new ConfigException($"configuration file '{path}' not found ({fullPath})");
        }

        return new HoconParser(
            File.ReadAllText(fullPath),
            path,
            Path.GetDirectoryName(fullPath)!,
            environment ?? Environment.GetEnvironmentVariable,
            [fullPath]).ParseDocument();
    }

    /// <summary>Reads text; <paramref name="sourceName"/> is what origins and errors call it.</summary>
    /// <param name="baseDirectory">Where includes are looked up; null means the current directory.</param>
    public static HoconObject ParseText(
        string text,
        string sourceName,
        Func<string, string?>? environment = null,
        string? baseDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(sourceName);
        return new HoconParser(
            text,
            sourceName,
            baseDirectory ?? Directory.GetCurrentDirectory(),
            environment ?? Environment.GetEnvironmentVariable,
            []).ParseDocument();
    }

    /// <summary>Reads a single value whose every node gets <paramref name="origin"/>; null for an unset <c>${?VAR}</c>.</summary>
    internal static HoconValue? ParseValue(string text, ConfigOrigin origin, Func<string, string?> environment) =>
        new HoconParser(text, origin.Source, Directory.GetCurrentDirectory(), environment, [], origin).ParseSingleValue();
}
