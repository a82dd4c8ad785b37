namespace RnnCluster.Config;

/// <summary>A node of a parsed HOCON tree; every node remembers where it was written.</summary>
public abstract class HoconValue
{
    private protected HoconValue(ConfigOrigin origin)
    {
        ArgumentNullException.ThrowIfNull(origin);
        Origin = origin;
    }

    public ConfigOrigin Origin { get; }

    /// <summary>Compact HOCON text of this value, used to quote the offending value in errors.</summary>
    public abstract string ToDisplayString();

    public override string ToString() => ToDisplayString();
}
