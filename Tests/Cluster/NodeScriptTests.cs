using System.Diagnostics;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Cluster;

/// <summary>
/// <c>deploy/rnncluster-node</c>, which every deployment (the local launcher, network namespaces, systemd,
/// the container) starts nodes through, with a stand-in program that prints what it was given.
/// </summary>
public sealed class NodeScriptTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_worker_started_without_seeds_in_the_environment_gets_its_command_line_and_the_resident_JIT_thread_setting()
    {
        using var dir = new TempDirectory();
        var (code, output) = await RunNodeAsync(dir, ["worker", "--seed", "10.0.0.1:2552"], ("RNNCLUSTER_SEEDS", null), ("DOTNET_TC_BackgroundWorkerTimeoutMs", null));

        Assert.True(code == 0, $"rnncluster-node exited {code}:\n{output}");
        Assert.Contains("jit-worker-timeout=7FFFFFFF", output, StringComparison.Ordinal);
        Assert.Contains(" --seed 10.0.0.1:2552\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Seeds_from_the_environment_become_options_and_a_callers_own_JIT_setting_wins()
    {
        using var dir = new TempDirectory();
        var (code, output) = await RunNodeAsync(dir, ["worker"], ("RNNCLUSTER_SEEDS", "10.0.0.1:2552, 10.0.0.2:2552"), ("DOTNET_TC_BackgroundWorkerTimeoutMs", "FA0"));

        Assert.True(code == 0, $"rnncluster-node exited {code}:\n{output}");
        Assert.Contains("jit-worker-timeout=FA0", output, StringComparison.Ordinal);
        Assert.Contains(" --seed 10.0.0.1:2552 --seed 10.0.0.2:2552\n", output, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Output)> RunNodeAsync(TempDirectory dir, string[] args, params (string Name, string? Value)[] environment)
    {
        var program = dir.Write("node.sh", "#!/bin/sh\necho \"jit-worker-timeout=$DOTNET_TC_BackgroundWorkerTimeoutMs args=$*\"\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(program, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(RepositoryRoot.Path, "deploy", "rnncluster-node"));
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["RNNCLUSTER_WORKER_EXE"] = program;
        info.Environment["RNNCLUSTER_CONFIG"] = dir.Write("cluster.hocon", "");
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(Limit);
        return (process.ExitCode, await stdout + await stderr);
    }
}
