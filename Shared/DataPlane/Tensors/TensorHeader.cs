using System.Collections.Frozen;
using Wire = RnnCluster.DataPlane.Protocol;

namespace RnnCluster.DataPlane.Tensors;

/// <summary>
/// What travels in front of a tensor's floats: enough for the receiver to file it (which run, generation,
/// step, attempt and worker it belongs to) without a control message in between. <see cref="Values"/>
/// holds a few more small numbers (a loss sum, a token count, the offset of a segment). The data plane
/// reads none of it except that <see cref="Kind"/> is set; checking that a tensor is current (not of an
/// old generation or attempt) is the receiver's job.
/// </summary>
public sealed record TensorHeader
{
    /// <summary>The most entries <see cref="Values"/> may hold.</summary>
    public const int MaxValues = 16;

    /// <summary>The longest <see cref="RunId"/> and <see cref="Values"/> key, in characters.</summary>
    public const int MaxNameLength = 128;

    private static readonly IReadOnlyDictionary<string, double> NoValues = FrozenDictionary<string, double>.Empty;

    public required TensorKind Kind { get; init; }

    public string RunId { get; init; } = "";

    public int Generation { get; init; }

    public long Step { get; init; }

    public int Attempt { get; init; }

    public int WorkerIndex { get; init; }

    /// <summary>The incarnation the tensor is for or from (the peer's own comes with the connection, <see cref="TensorConnection.Peer"/>).</summary>
    public ulong Incarnation { get; init; }

    /// <summary>At most <see cref="MaxValues"/> named numbers; compared by content.</summary>
    public IReadOnlyDictionary<string, double> Values { get; init; } = NoValues;

    /// <summary>Throws naming the first field out of range; returns this so call sites can chain.</summary>
    /// <exception cref="ArgumentException">Kind is 0, or a name or the number of values is over its limit.</exception>
    public TensorHeader Validate()
    {
        if ((int)Kind <= 0)
        {
            throw new ArgumentException($"{nameof(TensorHeader)}.{nameof(Kind)} must be a positive number; it is {(int)Kind}.", nameof(Kind));
        }

        ArgumentNullException.ThrowIfNull(RunId, nameof(RunId));
        ArgumentNullException.ThrowIfNull(Values, nameof(Values));
        if (RunId.Length > MaxNameLength)
        {
            throw new ArgumentException($"{nameof(TensorHeader)}.{nameof(RunId)} has {RunId.Length} characters; at most {MaxNameLength} fit.", nameof(RunId));
        }

        if (Values.Count > MaxValues)
        {
            throw new ArgumentException($"{nameof(TensorHeader)}.{nameof(Values)} holds {Values.Count} entries; at most {MaxValues} fit.", nameof(Values));
        }

        foreach (var key in Values.Keys)
        {
            if (key.Length is 0 or > MaxNameLength)
            {
                throw new ArgumentException($"{nameof(TensorHeader)}.{nameof(Values)} key '{key}' must have 1 to {MaxNameLength} characters.", nameof(Values));
            }
        }

        return this;
    }

    public bool Equals(TensorHeader? other) =>
        other is not null
        && Kind == other.Kind
        && string.Equals(RunId, other.RunId, StringComparison.Ordinal)
        && Generation == other.Generation
        && Step == other.Step
        && Attempt == other.Attempt
        && WorkerIndex == other.WorkerIndex
        && Incarnation == other.Incarnation
        && Values.Count == other.Values.Count
        && Values.All(v => other.Values.TryGetValue(v.Key, out var value) && value.Equals(v.Value));

    public override int GetHashCode() => HashCode.Combine(Kind, RunId, Generation, Step, Attempt, WorkerIndex, Incarnation, Values.Count);

    internal Wire.TensorHeader ToWire()
    {
        var wire = new Wire.TensorHeader
        {
            Kind = (uint)Kind,
            RunId = RunId,
            Generation = Generation,
            Step = Step,
            Attempt = Attempt,
            WorkerIndex = WorkerIndex,
            Incarnation = Incarnation,
        };
        foreach (var (key, value) in Values)
        {
            wire.Values.Add(key, value);
        }

        return wire;
    }

    /// <exception cref="FormatException">The header breaks a rule <see cref="Validate"/> enforces on the sender.</exception>
    internal static TensorHeader FromWire(Wire.TensorHeader wire)
    {
        var header = new TensorHeader
        {
            Kind = (TensorKind)(int)Math.Min(wire.Kind, int.MaxValue),
            RunId = wire.RunId,
            Generation = wire.Generation,
            Step = wire.Step,
            Attempt = wire.Attempt,
            WorkerIndex = wire.WorkerIndex,
            Incarnation = wire.Incarnation,
            Values = wire.Values.Count == 0 ? NoValues : wire.Values.ToFrozenDictionary(StringComparer.Ordinal),
        };
        try
        {
            return header.Validate();
        }
        catch (ArgumentException e)
        {
            throw new FormatException(e.Message, e);
        }
    }
}
