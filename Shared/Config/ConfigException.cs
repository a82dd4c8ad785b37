namespace RnnCluster.Config;

/// <summary>
/// A configuration problem: bad syntax, a missing include or variable, an unknown key or a value
/// out of range. The message always names where the offending text came from (file:line or the
/// <c>--set</c> override), because that is what a user needs to fix it.
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException()
    {
    }

    public ConfigException(string message)
        : base(message)
    {
    }

    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Builds the standard "path = value at origin: problem" message.</summary>
    internal static ConfigException ForValue(string path, ConfigNode value, string problem)
    {
        // Whole sections pasted into a message would bury the problem; the origin locates them.
        var shown = value.ToDisplayString();
        shown = shown.Length > 80 ? string.Concat(shown.AsSpan(0, 77), "...") : shown;
        return new($"{path} = {shown} at {value.Origin}: {problem}");
    }
}
