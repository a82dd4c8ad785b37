using System.Diagnostics;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Common;

/// <summary>
/// The build hard-links files into output folders to save disk (Directory.Build.props), but never an
/// assembly to the compiler's own output in obj/: the compiler rewrites that file in place, so a rebuild
/// (tests built while a training run goes on, a benchmark's build beside a soak) would change the bytes
/// under every process that had loaded it from any output folder, and they died of SIGBUS. Copies into
/// output folders replace the file (a new inode), which running processes never see.
/// </summary>
public sealed class BuildOutputTests
{
    [Theory]
    [InlineData("Shared", "RnnCluster.Shared.dll")]
    [InlineData("Coordinator", "rnncluster.dll")]
    [InlineData("Worker", "rnncluster-worker.dll")]
    public void An_assembly_in_an_output_folder_is_not_the_compilers_output_file(string project, string assembly)
    {
        var output = Path.Combine(AppContext.BaseDirectory, assembly);

        // bin/<configuration>/<framework>/ of the tests: the same configuration and framework under the project's obj/.
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var compiled = Path.Combine(RepositoryRoot.Path, project, "obj", framework.Parent!.Name, framework.Name, assembly);
        Assert.True(File.Exists(output), $"{output} does not exist");
        Assert.True(File.Exists(compiled), $"{compiled} does not exist");

        var inodes = Inodes(output, compiled);
        Assert.True(
            inodes[0] != inodes[1],
            $"{output} is a hard link to the compiler's output {compiled} (inode {inodes[0]}): a rebuild would rewrite it under running processes");
    }

    private static string[] Inodes(params string[] paths)
    {
        var info = new ProcessStartInfo("stat") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("%i");
        foreach (var path in paths)
        {
            info.ArgumentList.Add(path);
        }

        using var process = Process.Start(info)!;
        var text = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(10_000), "stat did not finish within 10 s");
        Assert.Equal(0, process.ExitCode);
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
