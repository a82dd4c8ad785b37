using System.Diagnostics.CodeAnalysis;

namespace RnnCluster.Config;

/// <summary>
/// An object node: keys in first-written order. Typed getters take dotted paths from this object
/// (<c>GetDuration("cluster.heartbeat-interval")</c>) and throw <see cref="ConfigException"/> naming
/// the full path, the value and its origin; a <c>null</c> value reads as absent.
/// </summary>
public sealed class HoconObject : HoconValue
{
    private readonly Dictionary<string, HoconValue> _fields = new(StringComparer.Ordinal);
    private readonly List<string> _keys = [];

    public HoconObject(ConfigOrigin origin)
        : base(origin)
    {
    }

    /// <summary>Keys in the order they were first written.</summary>
    public IReadOnlyList<string> Keys => _keys;

    public bool TryGetField(string key, [NotNullWhen(true)] out HoconValue? value) =>
        _fields.TryGetValue(key, out value);

    /// <summary>Looks up a dotted path; false when any segment is missing or not an object.</summary>
    public bool TryGetValue(string path, [NotNullWhen(true)] out HoconValue? value)
    {
        ArgumentNullException.ThrowIfNull(path);
        value = this;
        foreach (var segment in path.Split('.'))
        {
            if (value is not HoconObject obj || !obj.TryGetField(segment, out value))
            {
                value = null;
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

    public HoconObject GetObject(string path) => HoconConversions.ToObject(Require(path), path);

    public override string ToDisplayString() =>
        "{" + string.Join(", ", _keys.Select(k => $"{HoconWriter.FormatKey(k)} = {_fields[k].ToDisplayString()}")) + "}";

    /// <summary>
    /// Sets <paramref name="path"/> the way a repeated HOCON key does: an object merges into an
    /// earlier object, anything else replaces what was there. Missing intermediate objects are
    /// created; an intermediate non-object is replaced, as in HOCON.
    /// </summary>
    internal void Assign(IReadOnlyList<string> path, HoconValue value)
    {
        var target = this;
        for (var i = 0; i < path.Count - 1; i++)
        {
            if (!target._fields.TryGetValue(path[i], out var next) || next is not HoconObject nextObject)
            {
                nextObject = new HoconObject(value.Origin);
                target.Put(path[i], nextObject);
            }

            target = nextObject;
        }

        target.MergeField(path[^1], value);
    }

    /// <summary>Merges every field of <paramref name="other"/> into this object (later wins).</summary>
    internal void MergeFrom(HoconObject other)
    {
        foreach (var key in other._keys)
        {
            MergeField(key, other._fields[key]);
        }
    }

    private void MergeField(string key, HoconValue value)
    {
        if (value is HoconObject incoming && _fields.TryGetValue(key, out var existing) && existing is HoconObject earlier)
        {
            earlier.MergeFrom(incoming);
            return;
        }

        Put(key, value);
    }

    private void Put(string key, HoconValue value)
    {
        if (!_fields.ContainsKey(key))
        {
            _keys.Add(key);
        }

        _fields[key] = value;
    }

    private HoconValue? Find(string path) =>
        TryGetValue(path, out var value) && !HoconConversions.IsNull(value) ? value : null;

    private HoconValue Require(string path) =>
        Find(path) ?? throw new ConfigException($"{path} is missing (in the object at {Origin}) and has no default");
}
