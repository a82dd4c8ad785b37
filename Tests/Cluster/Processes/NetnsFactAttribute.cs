using System.Diagnostics;

namespace RnnCluster.Tests.Cluster.Processes;

/// <summary>
/// A fact that needs network namespaces (root, iproute2, veth and bridge support): skipped, with the
/// reason <c>deploy/netns/netns-cluster.sh check</c> gives, where the machine cannot build them.
/// </summary>
public sealed class NetnsFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> s_unavailable = new(Check);

    public NetnsFactAttribute()
    {
        if (s_unavailable.Value is { } reason)
        {
            Skip = reason;
        }
    }

    private static string? Check()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "network namespaces are Linux only";
        }

        var script = Path.Combine(Support.RepositoryRoot.Path, "deploy", "netns", "netns-cluster.sh");
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(script);
        info.ArgumentList.Add("check");
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? null : $"netns-cluster.sh check: {output.Trim()}";
    }
}
