namespace RnnCluster.Tests.Support;

/// <summary>The repository's root directory, found by walking up from the test assembly to RnnCluster.sln.</summary>
internal static class RepositoryRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "RnnCluster.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"RnnCluster.sln not found above {AppContext.BaseDirectory}");
    }
}
