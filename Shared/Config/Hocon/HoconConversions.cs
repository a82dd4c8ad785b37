using System.Globalization;

namespace RnnCluster.Config;

/// <summary>
/// Converts configuration nodes to CLR values. Scalars convert from their text whatever their kind, as in
/// HOCON (an environment variable is always a string, yet may hold a number). Every failure is a
/// <see cref="ConfigException"/> naming the path, the value and its origin.
/// </summary>
internal static class HoconConversions
{
    private static readonly (string Unit, long Ticks)[] DurationUnits =
    [
        ("ns", 0), ("nanosecond", 0), ("nanoseconds", 0),
        ("us", 10), ("µs", 10), ("microsecond", 10), ("microseconds", 10),
        ("ms", TimeSpan.TicksPerMillisecond), ("millisecond", TimeSpan.TicksPerMillisecond), ("milliseconds", TimeSpan.TicksPerMillisecond),
        ("s", TimeSpan.TicksPerSecond), ("second", TimeSpan.TicksPerSecond), ("seconds", TimeSpan.TicksPerSecond),
        ("m", TimeSpan.TicksPerMinute), ("minute", TimeSpan.TicksPerMinute), ("minutes", TimeSpan.TicksPerMinute),
        ("h", TimeSpan.TicksPerHour), ("hour", TimeSpan.TicksPerHour), ("hours", TimeSpan.TicksPerHour),
        ("d", TimeSpan.TicksPerDay), ("day", TimeSpan.TicksPerDay), ("days", TimeSpan.TicksPerDay),
    ];

    // Binary prefixes (K, Ki, KiB) are powers of 1024; SI ones with a B (kB, KB, MB) powers of 1000,
    // following the HOCON spec's size format (plus the common upper-case KB).
    private static readonly (string Unit, long Bytes)[] SizeUnits =
    [
        ("B", 1), ("b", 1), ("byte", 1), ("bytes", 1),
        ("K", 1L << 10), ("k", 1L << 10), ("Ki", 1L << 10), ("KiB", 1L << 10),
        ("M", 1L << 20), ("m", 1L << 20), ("Mi", 1L << 20), ("MiB", 1L << 20),
        ("G", 1L << 30), ("g", 1L << 30), ("Gi", 1L << 30), ("GiB", 1L << 30),
        ("T", 1L << 40), ("t", 1L << 40), ("Ti", 1L << 40), ("TiB", 1L << 40),
        ("kB", 1_000), ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000),
    ];

    public static string ToText(ConfigNode value, string path) =>
        value.Text ?? throw ConfigException.ForValue(path, value, "expected a string");

    public static long ToLong(ConfigNode value, string path)
    {
        if (value.Text is { } text
            && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var result))
        {
            return result;
        }

        throw ConfigException.ForValue(path, value, "expected an integer");
    }

    public static int ToInt(ConfigNode value, string path)
    {
        if (value.Text is { } text
            && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var wide))
        {
            return wide is >= int.MinValue and <= int.MaxValue
                ? (int)wide
                : throw ConfigException.ForValue(path, value, $"expected an integer between {int.MinValue} and {int.MaxValue}");
        }

        throw ConfigException.ForValue(path, value, "expected an integer");
    }

    public static double ToDouble(ConfigNode value, string path)
    {
        if (value.Text is { } text
            && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var result)
            && double.IsFinite(result))
        {
            return result;
        }

        throw ConfigException.ForValue(path, value, "expected a finite number");
    }

    public static bool ToBoolean(ConfigNode value, string path)
    {
        // HOCON also spells booleans yes/no and on/off.
        return value.Text switch
        {
            "true" or "yes" or "on" => true,
            "false" or "no" or "off" => false,
            _ => throw ConfigException.ForValue(path, value, "expected a boolean (true or false)"),
        };
    }

    public static TimeSpan ToDuration(ConfigNode value, string path)
    {
        const string Expected = "expected a duration such as 250us, 500ms, 3s, 2m, 1h or 1d";
        if (!TrySplitQuantity(value, out var number, out var unit))
        {
            throw ConfigException.ForValue(path, value, Expected);
        }

        double ticks;
        if (unit.Length == 0)
        {
            ticks = number * TimeSpan.TicksPerMillisecond; // HOCON: a bare number is milliseconds
        }
        else if (Array.FindIndex(DurationUnits, u => u.Unit == unit) is var index and >= 0)
        {
            // A tick is 100 ns; nanoseconds are the one unit smaller than a tick.
            ticks = DurationUnits[index].Ticks == 0 ? number / 100 : number * DurationUnits[index].Ticks;
        }
        else
        {
            throw ConfigException.ForValue(path, value, Expected);
        }

        ticks = Math.Round(ticks);
        return ticks >= TimeSpan.MinValue.Ticks && ticks <= TimeSpan.MaxValue.Ticks
            ? TimeSpan.FromTicks((long)ticks)
            : throw ConfigException.ForValue(path, value, "duration is out of range");
    }

    public static long ToSize(ConfigNode value, string path)
    {
        const string Expected = "expected a size such as 512B, 64KiB, 1MiB, 1GiB or 10MB";
        if (!TrySplitQuantity(value, out var number, out var unit))
        {
            throw ConfigException.ForValue(path, value, Expected);
        }

        long multiplier = 1;
        if (unit.Length > 0)
        {
            var index = Array.FindIndex(SizeUnits, u => u.Unit == unit);
            if (index < 0)
            {
                throw ConfigException.ForValue(path, value, Expected);
            }

            multiplier = SizeUnits[index].Bytes;
        }

        var bytes = number * multiplier;
        if (bytes < 0 || bytes >= long.MaxValue)
        {
            throw ConfigException.ForValue(path, value, "size must be between 0 and 2^63 - 1 bytes");
        }

        if (bytes != Math.Floor(bytes))
        {
            throw ConfigException.ForValue(path, value, "size must be a whole number of bytes");
        }

        return (long)bytes;
    }

    public static IReadOnlyList<string> ToStringList(ConfigNode value, string path) =>
        value.IsArray
            ? value.Items.Select((item, i) => ToText(item, $"{path}[{i}]")).ToArray()
            : throw ConfigException.ForValue(path, value, "expected an array of strings");

    public static ConfigNode ToObject(ConfigNode value, string path) =>
        value.IsObject ? value : throw ConfigException.ForValue(path, value, "expected an object");

    /// <summary>Splits "1.5 s" into 1.5 and "s"; the unit may be empty.</summary>
    private static bool TrySplitQuantity(ConfigNode value, out double number, out string unit)
    {
        number = 0;
        unit = string.Empty;
        if (value.Text is not { } written)
        {
            return false;
        }

        var text = written.Trim();
        var end = 0;
        while (end < text.Length && (char.IsAsciiDigit(text[end]) || text[end] is '.' or '-' or '+'))
        {
            end++;
        }

        unit = text[end..].Trim();
        return end > 0
            && double.TryParse(text.AsSpan(0, end), NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out number)
            && double.IsFinite(number);
    }
}
