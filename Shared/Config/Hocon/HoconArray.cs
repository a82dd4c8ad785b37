namespace RnnCluster.Config;

/// <summary>An ordered list of values: <c>[1, 2, 3]</c>.</summary>
public sealed class HoconArray : HoconValue
{
    public HoconArray(IReadOnlyList<HoconValue> items, ConfigOrigin origin)
        : base(origin)
    {
        ArgumentNullException.ThrowIfNull(items);
        Items = items;
    }

    public IReadOnlyList<HoconValue> Items { get; }

    public override string ToDisplayString() =>
        "[" + string.Join(", ", Items.Select(item => item.ToDisplayString())) + "]";
}
