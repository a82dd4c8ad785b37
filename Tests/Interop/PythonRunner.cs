using System.Diagnostics;

namespace RnnCluster.Tests.Interop;

/// <summary>Runs a script with Debian's /usr/bin/python3 (python3-torch 1.13: the reference our checkpoints must reproduce).</summary>
internal static class PythonRunner
{
    private const string Python = "/usr/bin/python3";

    public static async Task<(int Exit, string Output, string Error)> RunAsync(params string[] args)
    {
        if (!File.Exists(Python))
        {
            throw new InvalidOperationException($"{Python} not found: run scripts/setup.sh (it installs python3-torch)");
        }

        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start python3");
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var error = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }
}
