using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using AkkaHoconArray = Akka.Configuration.Hocon.HoconArray;
using AkkaHoconLiteral = Akka.Configuration.Hocon.HoconLiteral;
using AkkaHoconObject = Akka.Configuration.Hocon.HoconObject;
using AkkaHoconSubstitution = Akka.Configuration.Hocon.HoconSubstitution;
using AkkaHoconValue = Akka.Configuration.Hocon.HoconValue;

namespace RnnCluster.Config;

/// <summary>
/// One value of a <see cref="ConfigTree"/> as the binder sees it: Akka's node with its full path,
/// where it was written, and whether it is an object, an array, <c>null</c> or a scalar. A scalar's
/// text is exactly what was written (after unescaping), so numbers are converted only when a typed
/// getter asks, with the invariant culture, and errors can echo it.
/// </summary>
public sealed class ConfigNode
{
    private readonly ConfigTree _tree;
    private readonly AkkaHoconValue _value;

    internal ConfigNode(ConfigTree tree, AkkaHoconValue value, string path)
    {
        _tree = tree;
        _value = value;
        Path = path;
    }

    /// <summary>Full dotted path from the root ("" for the root, "cluster.seeds[0]" for an array item).</summary>
    public string Path { get; }

    public ConfigOrigin Origin => Path.Length == 0 ? _tree.RootOrigin : _tree.OriginOf(Path);

    public bool IsObject => _value.GetObject() is not null;

    // Akka's own IsArray is false for an empty array, which is still an array here.
    public bool IsArray => !IsObject && HoldsArray(_value);

    /// <summary>An unquoted <c>null</c> (or nothing at all): reads as absent, which restores the default.</summary>
    public bool IsNull =>
        _value.Values.Count == 0
        || (Text == "null" && _tree.SourceOf(Path) is not { Quoted: true } and not { Substituted: true });

    /// <summary>The text of a scalar (concatenations joined); null for objects and arrays.</summary>
    public string? Text
    {
        get
        {
            if (IsObject || IsArray)
            {
                return null;
            }

            // Akka keeps the blanks after a piece as a literal of their own, also after the last one.
            var parts = _value.Values;
            var end = parts.Count;
            while (end > 1 && parts[end - 1] is AkkaHoconLiteral { Value: var blank } && string.IsNullOrWhiteSpace(blank))
            {
                end--;
            }

            return string.Concat(parts.Take(end).Select(part => part.GetString() ?? "null"));
        }
    }

    /// <summary>An object's keys in the order they were first written; empty for anything else.</summary>
    public IReadOnlyList<string> Keys => Object?.Items.Keys.ToArray() ?? [];

    /// <summary>An array's items; empty for anything else.</summary>
    public IReadOnlyList<ConfigNode> Items =>
        IsArray
            ? _value.GetArray().Select((item, i) => new ConfigNode(_tree, item, string.Create(CultureInfo.InvariantCulture, $"{Path}[{i}]"))).ToArray()
            : [];

    private AkkaHoconObject? Object => _value.GetObject();

    public bool TryGetField(string key, [NotNullWhen(true)] out ConfigNode? value)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (Object is { } obj && obj.Items.TryGetValue(key, out var child))
        {
            value = new ConfigNode(_tree, child, Path.Length == 0 ? key : $"{Path}.{key}");
            return true;
        }

        value = null;
        return false;
    }

    /// <summary>Compact HOCON text of this value, used to quote the offending value in errors.</summary>
    public string ToDisplayString()
    {
        if (IsObject)
        {
            return "{" + string.Join(", ", Keys.Select(k => $"{HoconWriter.FormatKey(k)} = {Field(k).ToDisplayString()}")) + "}";
        }

        if (IsArray)
        {
            return "[" + string.Join(", ", Items.Select(item => item.ToDisplayString())) + "]";
        }

        var text = Text ?? string.Empty;
        return _tree.SourceOf(Path) switch
        {
            { Quoted: true } => HoconWriter.Quote(text),
            null => HoconWriter.FormatScalar(text),
            _ => text,
        };
    }

    public override string ToString() => ToDisplayString();

    private static bool HoldsArray(AkkaHoconValue value) =>
        value.Values.Any(e => e is AkkaHoconArray || (e is AkkaHoconSubstitution { ResolvedValue: { } resolved } && HoldsArray(resolved)));

    private ConfigNode Field(string key) => TryGetField(key, out var value) ? value : throw new KeyNotFoundException(key);
}
