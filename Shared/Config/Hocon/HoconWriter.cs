using System.Globalization;
using System.Text;

namespace RnnCluster.Config;

/// <summary>
/// Writes HOCON that <see cref="HoconSource"/> (Akka's reader) reads back to the same values:
/// doubles in their shortest round-trip form, strings quoted, durations and sizes in exact units.
/// </summary>
public sealed class HoconWriter
{
    private readonly StringBuilder _text = new();
    private int _depth;

    public void Comment(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        foreach (var line in text.Split('\n'))
        {
            Line($"# {line}".TrimEnd());
        }
    }

    /// <summary>Writes <c>name { ... }</c> with the fields <paramref name="body"/> writes.</summary>
    public void Section(string name, Action<HoconWriter> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        Line($"{FormatKey(name)} {{");
        _depth++;
        body(this);
        _depth--;
        Line("}");
    }

    public void Write(string key, string value) => Field(key, Quote(value));

    public void Write(string key, long value) => Field(key, value.ToString(CultureInfo.InvariantCulture));

    public void Write(string key, double value) => Field(key, FormatDouble(value));

    public void Write(string key, bool value) => Field(key, value ? "true" : "false");

    /// <summary>Writes a symbolic name (an enum's configuration spelling) unquoted.</summary>
    public void WriteName(string key, string name) => Field(key, name);

    public void WriteDuration(string key, TimeSpan value) => Field(key, FormatDuration(value));

    public void WriteSize(string key, long bytes) => Field(key, FormatSize(bytes));

    public void WriteStringList(string key, IEnumerable<string> values) =>
        Field(key, "[" + string.Join(", ", values.Select(Quote)) + "]");

    public override string ToString() => _text.ToString();

    public static string Quote(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var quoted = new StringBuilder(text.Length + 2).Append('"');
        foreach (var c in text)
        {
            _ = c switch
            {
                '"' => quoted.Append("\\\""),
                '\\' => quoted.Append("\\\\"),
                '\n' => quoted.Append("\\n"),
                '\r' => quoted.Append("\\r"),
                '\t' => quoted.Append("\\t"),
                < ' ' => quoted.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"),
                _ => quoted.Append(c),
            };
        }

        return quoted.Append('"').ToString();
    }

    /// <summary>Keys made only of letters, digits, '-' and '_' stay bare; others are quoted.</summary>
    public static string FormatKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key.Length > 0 && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_') ? key : Quote(key);
    }

    /// <summary>A scalar for display: bare when it is plain text (letters, digits, '-', '_', '.', '/'), else quoted.</summary>
    public static string FormatScalar(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Length > 0 && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/') ? text : Quote(text);
    }

    public static string FormatDouble(double value)
    {
        // "R" is the shortest text that parses back to the same double; HOCON prefers a lower-case e.
        return value.ToString("R", CultureInfo.InvariantCulture).Replace('E', 'e');
    }

    public static string FormatDuration(TimeSpan value)
    {
        var ticks = value.Ticks;
        (long Ticks, string Unit)[] units =
        [
            (TimeSpan.TicksPerDay, "d"), (TimeSpan.TicksPerHour, "h"), (TimeSpan.TicksPerMinute, "m"),
            (TimeSpan.TicksPerSecond, "s"), (TimeSpan.TicksPerMillisecond, "ms"), (10, "us"),
        ];
        foreach (var (unitTicks, unit) in units)
        {
            if (ticks % unitTicks == 0)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{ticks / unitTicks}{unit}");
            }
        }

        return string.Create(CultureInfo.InvariantCulture, $"{ticks * 100}ns");
    }

    public static string FormatSize(long bytes)
    {
        (int Shift, string Unit)[] units = [(30, "GiB"), (20, "MiB"), (10, "KiB")];
        foreach (var (shift, unit) in units)
        {
            if (bytes != 0 && bytes % (1L << shift) == 0)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{bytes >> shift}{unit}");
            }
        }

        return string.Create(CultureInfo.InvariantCulture, $"{bytes}B");
    }

    private void Field(string key, string value) => Line($"{FormatKey(key)} = {value}");

    private void Line(string text) => _text.Append(' ', _depth * 2).Append(text).Append('\n');
}
