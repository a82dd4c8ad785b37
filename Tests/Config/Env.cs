namespace RnnCluster.Tests.Config;

/// <summary>Injected environments, so tests never read or change the process environment.</summary>
internal static class Env
{
    public static Func<string, string?> Empty { get; } = _ => null;

    public static Func<string, string?> Of(params (string Name, string Value)[] variables)
    {
        var map = variables.ToDictionary(v => v.Name, v => v.Value, StringComparer.Ordinal);
        return name => map.TryGetValue(name, out var value) ? value : null;
    }
}
