using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace RnnCluster.Data.Fetch;

/// <summary>
/// Runs <c>npm pack SPEC --json</c>, the ordinary npm client, which downloads a published package's
/// tarball (from whatever registry the user's npm is configured for) or packs a local folder, without
/// installing anything or running the package's scripts. npm's own error text is passed on.
/// </summary>
public sealed class NpmPacker : IPackagePacker
{
    private const int MaxErrorLength = 1500;

    public NpmPacker(string executable = "npm")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(executable);
        Executable = executable;
    }

    public string Executable { get; }

    public async Task<string> PackAsync(string packageSpec, string destinationDirectory, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(packageSpec);
        ArgumentException.ThrowIfNullOrWhiteSpace(destinationDirectory);
        Directory.CreateDirectory(destinationDirectory);
        var start = new ProcessStartInfo(Executable)
        {
            WorkingDirectory = destinationDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in new[] { "pack", packageSpec, "--json", "--ignore-scripts", "--pack-destination", destinationDirectory })
        {
            start.ArgumentList.Add(argument);
        }

        // Keep npm from phoning home about updates, funding or audits: one download, nothing else.
        start.Environment["npm_config_update_notifier"] = "false";
        start.Environment["npm_config_fund"] = "false";
        start.Environment["npm_config_audit"] = "false";

        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            throw new DataException(
                $"cannot run '{Executable}' ({e.Message}): fetching data sets needs npm, the Node.js package manager, on PATH (Debian: apt-get install npm)", e);
        }

        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            throw;
        }

        var output = await stdout.ConfigureAwait(false);
        var errors = await stderr.ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new DataException($"npm pack {packageSpec} failed with exit code {process.ExitCode}: {Summarize(errors)}");
        }

        var fileName = TarballName(output, packageSpec);
        var path = Path.Combine(destinationDirectory, fileName);
        return File.Exists(path)
            ? path
            : throw new DataException($"npm pack {packageSpec} reported {fileName}, but {path} does not exist");
    }

    private static string TarballName(string output, string packageSpec)
    {
        try
        {
            using var document = JsonDocument.Parse(output);
            if (document.RootElement.ValueKind == JsonValueKind.Array
                && document.RootElement.GetArrayLength() == 1
                && document.RootElement[0].TryGetProperty("filename", out var name)
                && name.ValueKind == JsonValueKind.String
                && name.GetString() is { Length: > 0 } fileName
                && Path.GetFileName(fileName) == fileName)
            {
                return fileName;
            }
        }
        catch (JsonException)
        {
        }

        throw new DataException($"npm pack {packageSpec} printed no tarball name in its --json output: {Summarize(output)}");
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    // One line for the CLI's "error:" message: npm's own error lines if it printed any, else all of it.
    private static string Summarize(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var errorLines = lines.Where(l => l.StartsWith("npm error", StringComparison.Ordinal) || l.StartsWith("npm ERR!", StringComparison.Ordinal)).ToArray();
        var summary = string.Join(" / ", errorLines.Length > 0 ? errorLines : lines);
        if (summary.Length == 0)
        {
            return "(npm printed nothing)";
        }

        return summary.Length <= MaxErrorLength ? summary : string.Concat(summary.AsSpan(0, MaxErrorLength), "…");
    }
}
