using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace RnnCluster.Config;

/// <summary>
/// Binds one object of the configuration (say <c>training</c>) to typed settings. Every getter takes the
/// built-in default, converts and range-checks a present value, and records the key as known;
/// <see cref="Bind{T}"/> then rejects keys nobody asked for, so a typo cannot pass silently.
/// A <c>null</c> value reads as absent, which restores the default.
/// </summary>
public sealed class ConfigSection
{
    private readonly ConfigNode? _object;
    private readonly List<string> _known = [];

    public ConfigSection(ConfigNode? obj, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        _object = obj;
        Path = path;
    }

    /// <summary>Full path of this section ("" at the root, "model.dropout" nested).</summary>
    public string Path { get; }

    /// <summary>Binds the whole tree: <paramref name="bind"/> reads the root's sections.</summary>
    public static T BindRoot<T>(ConfigTree root, Func<ConfigSection, T> bind)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(bind);
        var section = new ConfigSection(root.Root, string.Empty);
        var result = bind(section);
        section.EnsureNoUnknownKeys();
        return result;
    }

    /// <summary>Binds the nested object <paramref name="key"/> (absent = all defaults) and rejects its unknown keys.</summary>
    public T Bind<T>(string key, Func<ConfigSection, T> bind)
    {
        ArgumentNullException.ThrowIfNull(bind);
        ConfigNode? child = null;
        if (TryGet(key, out var value))
        {
            child = HoconConversions.ToObject(value, PathOf(key));
        }

        var section = new ConfigSection(child, PathOf(key));
        var result = bind(section);
        section.EnsureNoUnknownKeys();
        return result;
    }

    public string PathOf(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    /// <summary>The value written for <paramref name="key"/>, if any; marks the key as known.</summary>
    public bool TryGet(string key, [NotNullWhen(true)] out ConfigNode? value)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!_known.Contains(key))
        {
            _known.Add(key);
        }

        value = null;
        return _object is not null
            && _object.TryGetField(key, out value)
            && !value.IsNull;
    }

    public int GetInt(string key, int fallback, ValueRange? range = null) =>
        Get(key, fallback, HoconConversions.ToInt, range is null ? null : v => range.Contains(v), range?.Requirement);

    public long GetLong(string key, long fallback, ValueRange? range = null) =>
        Get(key, fallback, HoconConversions.ToLong, range is null ? null : v => range.Contains(v), range?.Requirement);

    public double GetDouble(string key, double fallback, ValueRange? range = null) =>
        Get(key, fallback, HoconConversions.ToDouble, range is null ? null : range.Contains, range?.Requirement);

    public bool GetBoolean(string key, bool fallback) => Get(key, fallback, HoconConversions.ToBoolean, null, null);

    /// <param name="isValid">Extra check of a present value.</param>
    /// <param name="expected">What a valid value looks like, for the error when <paramref name="isValid"/> fails.</param>
    public string GetString(string key, string fallback, Func<string, bool>? isValid = null, string? expected = null) =>
        Get(key, fallback, HoconConversions.ToText, isValid, expected ?? "invalid value");

    public TimeSpan GetDuration(string key, TimeSpan fallback, TimeSpan? min = null) =>
        Get(key, fallback, HoconConversions.ToDuration, min is null ? null : v => v >= min.Value,
            min is null ? null : $"must be at least {HoconWriter.FormatDuration(min.Value)}");

    public long GetSize(string key, long fallback, long min = 0) =>
        Get(key, fallback, HoconConversions.ToSize, v => v >= min,
            $"must be at least {HoconWriter.FormatSize(min)}");

    public IReadOnlyList<string> GetStringList(string key, IReadOnlyList<string> fallback) =>
        Get(key, fallback, HoconConversions.ToStringList, null, null);

    public T GetEnum<T>(string key, T fallback, ConfigNames<T> names)
        where T : struct, Enum
    {
        ArgumentNullException.ThrowIfNull(names);
        return GetChoice(key, fallback, names.TryParse, names.Expected);
    }

    /// <summary>A symbolic value read by <paramref name="parse"/>; <paramref name="expected"/> lists the valid ones.</summary>
    public T GetChoice<T>(string key, T fallback, ChoiceParser<T> parse, string expected)
    {
        ArgumentNullException.ThrowIfNull(parse);
        if (!TryGet(key, out var value))
        {
            return fallback;
        }

        var text = HoconConversions.ToText(value, PathOf(key));
        return parse(text, out var result) ? result : throw ConfigException.ForValue(PathOf(key), value, expected);
    }

    /// <summary>An error about <paramref name="key"/>, for checks that span several keys.</summary>
    public ConfigException Error(string key, string problem) =>
        TryGet(key, out var value)
            ? ConfigException.ForValue(PathOf(key), value, problem)
            : new ConfigException($"{PathOf(key)} ({ConfigOrigin.BuiltIn}): {problem}");

    /// <summary>"model.hidden-size = 300 at f:4" or "model.hidden-size = 200 (built-in default)".</summary>
    public string Describe(string key, IFormattable fallback)
    {
        ArgumentNullException.ThrowIfNull(fallback);
        return TryGet(key, out var value)
            ? $"{PathOf(key)} = {value.ToDisplayString()} at {value.Origin}"
            : $"{PathOf(key)} = {fallback.ToString(null, CultureInfo.InvariantCulture)} ({ConfigOrigin.BuiltIn})";
    }

    private T Get<T>(string key, T fallback, Func<ConfigNode, string, T> convert, Func<T, bool>? isValid, string? requirement)
    {
        if (!TryGet(key, out var value))
        {
            return fallback;
        }

        var result = convert(value, PathOf(key));
        return isValid is null || isValid(result)
            ? result
            : throw ConfigException.ForValue(PathOf(key), value, requirement ?? "invalid value");
    }

    private void EnsureNoUnknownKeys()
    {
        if (_object is null)
        {
            return;
        }

        var problems = new List<string>();
        foreach (var key in _object.Keys.Where(k => !_known.Contains(k)))
        {
            _object.TryGetField(key, out var value);
            var suggestion = EditDistance.Closest(key, _known);
            var hint = suggestion is not null
                ? $"unknown key; did you mean '{PathOf(suggestion)}'?"
                : $"unknown key; known keys here: {string.Join(", ", _known)}";
            problems.Add(ConfigException.ForValue(PathOf(key), value!, hint).Message);
        }

        if (problems.Count > 0)
        {
            throw new ConfigException(string.Join(Environment.NewLine, problems));
        }
    }
}
