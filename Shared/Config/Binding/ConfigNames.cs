namespace RnnCluster.Config;

/// <summary>The configuration spellings of an enum's values, both ways.</summary>
public sealed class ConfigNames<T>
    where T : struct, Enum
{
    private readonly (T Value, string Name)[] _names;

    public ConfigNames(params (T Value, string Name)[] names)
    {
        ArgumentNullException.ThrowIfNull(names);
        _names = names;
        Expected = ListChoices(names.Select(n => n.Name));
    }

    /// <summary>"one of 'a', 'b' or 'c'", for error messages.</summary>
    public string Expected { get; }

    public IEnumerable<string> Names => _names.Select(n => n.Name);

    public string ToName(T value)
    {
        foreach (var (v, name) in _names)
        {
            if (EqualityComparer<T>.Default.Equals(v, value))
            {
                return name;
            }
        }

        throw new ArgumentOutOfRangeException(nameof(value), value, $"No configuration name for {typeof(T).Name}.{value}.");
    }

    public bool TryParse(string text, out T value)
    {
        foreach (var (v, name) in _names)
        {
            if (string.Equals(name, text, StringComparison.Ordinal))
            {
                value = v;
                return true;
            }
        }

        value = default;
        return false;
    }

    internal static string ListChoices(IEnumerable<string> names)
    {
        var quoted = names.Select(n => $"'{n}'").ToArray();
        return quoted.Length == 1
            ? $"expected {quoted[0]}"
            : $"expected one of {string.Join(", ", quoted[..^1])} or {quoted[^1]}";
    }
}
