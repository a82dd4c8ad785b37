using System.Diagnostics.CodeAnalysis;
using AkkaConfig = Akka.Configuration.Config;
using AkkaHoconRoot = Akka.Configuration.Hocon.HoconRoot;

namespace RnnCluster.Config;

/// <summary>
/// A configuration as read: Akka's <see cref="AkkaConfig"/> (file, includes and overrides merged)
/// plus where each key path was written, which Akka does not keep. Typed getters take dotted paths
/// from the root (<c>GetDuration("cluster.heartbeat-interval")</c>) and throw
/// <see cref="ConfigException"/> naming the full path, the value and its origin; a <c>null</c> value
/// reads as absent.
/// </summary>
public sealed class ConfigTree
{
    private readonly Dictionary<string, ValueSource> _sources;

    internal ConfigTree(AkkaConfig config, Dictionary<string, ValueSource> sources, ConfigOrigin rootOrigin)
    {
        Config = config;
        _sources = sources;
        RootOrigin = rootOrigin;
        Root = new ConfigNode(this, config.Root, string.Empty);
    }

    /// <summary>No keys at all: the built-in defaults apply everywhere.</summary>
    public static ConfigTree Empty { get; } = new(AkkaConfig.Empty, [], ConfigOrigin.BuiltIn);

    /// <summary>The merged configuration in Akka's form (without fallbacks).</summary>
    public AkkaConfig Config { get; }

    /// <summary>The root object.</summary>
    public ConfigNode Root { get; }

    internal ConfigOrigin RootOrigin { get; }

    /// <summary>Looks up a dotted path; false when any segment is missing or not an object.</summary>
    public bool TryGetValue(string path, [NotNullWhen(true)] out ConfigNode? value)
    {
        ArgumentNullException.ThrowIfNull(path);
        value = Root;
        foreach (var segment in path.Split('.'))
        {
            if (!value.TryGetField(segment, out value))
            {
                return false;
            }
        }

        return true;
    }

    public string GetString(string path) => HoconConversions.ToText(Require(path), path);

    public string GetString(string path, string fallback) =>
        Find(path) is { } v ? HoconConversions.ToText(v, path) : fallback;

    public int GetInt(string path) => HoconConversions.ToInt(Require(path), path);

    public int GetInt(string path, int fallback) => Find(path) is { } v ? HoconConversions.ToInt(v, path) : fallback;

    public long GetLong(string path) => HoconConversions.ToLong(Require(path), path);

    public long GetLong(string path, long fallback) =>
        Find(path) is { } v ? HoconConversions.ToLong(v, path) : fallback;

    public double GetDouble(string path) => HoconConversions.ToDouble(Require(path), path);

    public double GetDouble(string path, double fallback) =>
        Find(path) is { } v ? HoconConversions.ToDouble(v, path) : fallback;

    public bool GetBoolean(string path) => HoconConversions.ToBoolean(Require(path), path);

    public bool GetBoolean(string path, bool fallback) =>
        Find(path) is { } v ? HoconConversions.ToBoolean(v, path) : fallback;

    /// <summary>Reads <c>3s</c>, <c>500ms</c>, <c>2m</c>, <c>1h</c>, <c>250us</c>; a bare number is milliseconds.</summary>
    public TimeSpan GetDuration(string path) => HoconConversions.ToDuration(Require(path), path);

    public TimeSpan GetDuration(string path, TimeSpan fallback) =>
        Find(path) is { } v ? HoconConversions.ToDuration(v, path) : fallback;

    /// <summary>Reads <c>512B</c>, <c>64KiB</c>, <c>1MiB</c>, <c>10MB</c> as bytes; a bare number is bytes.</summary>
    public long GetSize(string path) => HoconConversions.ToSize(Require(path), path);

    public long GetSize(string path, long fallback) => Find(path) is { } v ? HoconConversions.ToSize(v, path) : fallback;

    public IReadOnlyList<string> GetStringList(string path) => HoconConversions.ToStringList(Require(path), path);

    public ConfigNode GetObject(string path) => HoconConversions.ToObject(Require(path), path);

    /// <summary>
    /// This tree with <paramref name="over"/> laid on top, as a repeated HOCON key does: an object
    /// merges into an earlier object, anything else replaces what was there.
    /// </summary>
    internal ConfigTree Overlay(ConfigTree over)
    {
        // Akka's WithFallback merges the roots but also chains the fallback; the merged root alone is the result.
        var merged = over.Config.WithFallback(Config);
        var sources = new Dictionary<string, ValueSource>(_sources, StringComparer.Ordinal);
        foreach (var (path, source) in over._sources)
        {
            Record(sources, path, source);
        }

        return new ConfigTree(new AkkaConfig(new AkkaHoconRoot(merged.Root)), sources, RootOrigin);
    }

    /// <summary>
    /// Where <paramref name="path"/> was written: its own record, else that of the nearest enclosing
    /// key that has one (array items, objects made by Akka's merge), else the root's.
    /// </summary>
    internal ConfigOrigin OriginOf(string path)
    {
        for (var p = path; p.Length > 0; p = Parent(p))
        {
            if (_sources.TryGetValue(p, out var source))
            {
                return source.Origin;
            }
        }

        return RootOrigin;
    }

    internal ValueSource? SourceOf(string path) => _sources.GetValueOrDefault(path);

    /// <summary>
    /// Keeps the latest writer of a value; an object merged into an earlier object keeps the
    /// earlier one's origin, as the object itself stays where it was first written.
    /// </summary>
    internal static void Record(Dictionary<string, ValueSource> sources, string path, ValueSource source)
    {
        if (source.IsObject && sources.TryGetValue(path, out var earlier) && earlier.IsObject)
        {
            return;
        }

        sources[path] = source;
    }

    private static string Parent(string path)
    {
        var cut = path.EndsWith(']') ? path.LastIndexOf('[') : path.LastIndexOf('.');
        return cut > 0 ? path[..cut] : string.Empty;
    }

    private ConfigNode? Find(string path) =>
        TryGetValue(path, out var value) && !value.IsNull ? value : null;

    private ConfigNode Require(string path) =>
        Find(path) ?? throw new ConfigException($"{path} is missing (in the object at {RootOrigin}) and has no default");
}

/// <summary>How and where a key's value was written: what error messages need and Akka does not keep.</summary>
/// <param name="IsObject">An object, which later objects merge into rather than replace.</param>
/// <param name="Quoted">Part of the value was a quoted string, so it is echoed in quotes and never reads as null.</param>
/// <param name="Substituted">Part of the value came from a substitution, so it never reads as null either.</param>
internal sealed record ValueSource(ConfigOrigin Origin, bool IsObject, bool Quoted, bool Substituted);
