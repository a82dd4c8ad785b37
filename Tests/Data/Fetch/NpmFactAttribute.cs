namespace RnnCluster.Tests.Data.Fetch;

/// <summary>A fact that needs the npm client on PATH; skipped, with the reason, where it is missing.</summary>
public sealed class NpmFactAttribute : FactAttribute
{
    public NpmFactAttribute()
    {
        if (!IsNpmOnPath())
        {
            Skip = "npm is not on PATH: these tests run the real npm client on a local package folder (Debian: apt-get install npm)";
        }
    }

    internal static bool IsNpmOnPath() =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, "npm")));
}
