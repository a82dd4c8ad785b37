namespace RnnCluster.Config;

/// <summary>
/// Where a configuration value was written: a file and 1-based line, an override given on the
/// command line (<see cref="Line"/> is 0), or the built-in defaults.
/// </summary>
public sealed record ConfigOrigin(string Source, int Line)
{
    /// <summary>Values nobody wrote: the defaults compiled into the binder.</summary>
    public static ConfigOrigin BuiltIn { get; } = new("built-in default", 0);

    /// <summary>The origin of a <c>--set key=value</c> override.</summary>
    public static ConfigOrigin Override(string text) => new($"--set {text}", 0);

    public override string ToString() => Line > 0 ? $"{Source}:{Line}" : Source;
}
