namespace RnnCluster.Config;

/// <summary><c>data.max-length-policy</c>: what happens to an example longer than <c>data.max-length</c>.</summary>
public enum LengthPolicy
{
    Truncate = 0,
    Drop = 1,
}
