namespace RnnCluster.Data.Tasks;

/// <summary>What happens to an example longer than the maximum length.</summary>
public enum MaxLengthPolicy
{
    /// <summary>Leave it out of every epoch (counted in <see cref="LengthReport.Dropped"/>).</summary>
    Drop,

    /// <summary>Keep its first tokens (counted in <see cref="LengthReport.Truncated"/>).</summary>
    Truncate,
}
