using System.Globalization;

namespace RnnCluster.DataPlane.Transport;

/// <summary>
/// The test-only fault spec of <c>RNNCLUSTER_FAULTS</c> (<c>delay=50ms;drop=0.01;seed=7</c>), read only
/// when <c>cluster.test-faults</c> is on. The cluster applies <see cref="Delay"/> to each step message it
/// sends (<c>Parallel.Cluster.TestFaults</c>), so a process test can keep a tiny run going until its
/// fault lands. <see cref="DropProbability"/> and <see cref="Seed"/> are still read, so the specs the
/// deploy scripts pass stay valid, but nothing drops messages since the WebSocket remoting transport
/// that did was replaced by Akka.Remote.
/// </summary>
public sealed record TransportFaults
{
    private static readonly string[] Keys = ["delay", "drop", "seed"];

    /// <summary>Added to every ordinary message before it is queued; zero for none.</summary>
    public TimeSpan Delay { get; init; }

    /// <summary>Chance in [0, 1] that an ordinary message is dropped instead of sent.</summary>
    public double DropProbability { get; init; }

    /// <summary>Seed of the drop decisions.</summary>
    public int Seed { get; init; }

    /// <summary>True when any fault is set.</summary>
    public bool IsActive => Delay > TimeSpan.Zero || DropProbability > 0;

    /// <summary>
    /// Reads <c>delay=50ms;drop=0.01;seed=7</c>: any subset of the keys, each at most once, in any order;
    /// a delay in <c>ms</c> or <c>s</c>; numbers in invariant culture. An empty string means no faults.
    /// </summary>
    /// <exception cref="FormatException">Names the part that is wrong and why.</exception>
    public static TransportFaults Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var faults = new TransportFaults();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var rawPart in text.Split(';'))
        {
            var part = rawPart.Trim();
            if (part.Length == 0)
            {
                continue;
            }

            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw Bad(text, part, "is not key=value");
            }

            var key = part[..equals].Trim().ToLowerInvariant();
            var value = part[(equals + 1)..].Trim();
            if (!Keys.Contains(key))
            {
                throw Bad(text, part, $"has an unknown key (expected {string.Join(", ", Keys)})");
            }

            if (!seen.Add(key))
            {
                throw Bad(text, part, $"sets '{key}' a second time");
            }

            faults = key switch
            {
                "delay" => faults with { Delay = ParseDelay(text, part, value) },
                "drop" => faults with { DropProbability = ParseProbability(text, part, value) },
                _ => faults with { Seed = ParseSeed(text, part, value) },
            };
        }

        return faults;
    }

    public TransportFaults Validate()
    {
        if (Delay < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(Delay), Delay, $"{nameof(TransportFaults)}.{nameof(Delay)} must not be negative.");
        }

        if (!(DropProbability is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(
                nameof(DropProbability), DropProbability, $"{nameof(TransportFaults)}.{nameof(DropProbability)} must be in [0, 1].");
        }

        return this;
    }

    /// <summary>The form <see cref="Parse"/> reads.</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture, $"delay={Delay.TotalMilliseconds}ms;drop={DropProbability};seed={Seed}");

    private static TimeSpan ParseDelay(string text, string part, string value)
    {
        var (number, unit) = value.EndsWith("ms", StringComparison.OrdinalIgnoreCase) ? (value[..^2], 1.0)
            : value.EndsWith('s') || value.EndsWith('S') ? (value[..^1], 1000.0)
            : throw Bad(text, part, "needs a unit, ms or s (for example delay=50ms)");
        return double.TryParse(number.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) && double.IsFinite(amount) && amount >= 0
            ? TimeSpan.FromMilliseconds(amount * unit)
            : throw Bad(text, part, "is not a non-negative duration");
    }

    private static double ParseProbability(string text, string part, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var probability) && probability is >= 0 and <= 1
            ? probability
            : throw Bad(text, part, "is not a probability in [0, 1]");

    private static int ParseSeed(string text, string part, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed)
            ? seed
            : throw Bad(text, part, "is not a 32-bit integer");

    private static FormatException Bad(string text, string part, string problem) =>
        new($"Transport faults '{text}': '{part}' {problem}.");
}
