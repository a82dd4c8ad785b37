using System.Diagnostics;

namespace RnnCluster.Tests.Support;

/// <summary>
/// A real file system with a real limit over one test directory: a small tmpfs (writes past its size fail
/// with ENOSPC) or a read-only bind mount (EROFS). Mounting needs root (CI runs as root); unmounted on dispose.
/// </summary>
internal sealed class ScratchMount : IDisposable
{
    private static readonly Lazy<string?> s_unavailable = new(Check);

    private ScratchMount(string path)
    {
        Path = path;
    }

    public string Path { get; }

    /// <summary>Why mounts cannot be made here (the skip reason), or null when they can.</summary>
    public static string? Unavailable => s_unavailable.Value;

    /// <summary>Mounts a tmpfs of <paramref name="bytes"/> (rounded up to pages) over the (empty) directory.</summary>
    public static ScratchMount Tmpfs(string path, long bytes)
    {
        Directory.CreateDirectory(path);
        Run("mount", "-t", "tmpfs", "-o", $"size={bytes}", "tmpfs", path);
        return new ScratchMount(path);
    }

    /// <summary>Makes the directory read-only in place: it is bind-mounted onto itself, then the bind is remounted read-only.</summary>
    public static ScratchMount ReadOnly(string path)
    {
        Directory.CreateDirectory(path);
        Run("mount", "--bind", path, path);
        var mount = new ScratchMount(path);
        try
        {
            Run("mount", "-o", "remount,bind,ro", path);
        }
        catch
        {
            mount.Dispose();
            throw;
        }

        return mount;
    }

    public void Dispose() => Run("umount", Path);

    private static string? Check()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "tmpfs and bind mounts are Linux only";
        }

        if (Environment.UserName != "root")
        {
            return $"mounting a small tmpfs or a read-only bind mount needs root; this runs as {Environment.UserName}";
        }

        var probe = Directory.CreateTempSubdirectory("rnncluster-mount-probe-").FullName;
        try
        {
            Tmpfs(probe, 4096).Dispose();
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Win32Exception: no mount(8) on the PATH.
            return $"root, but cannot mount here (no mount(8), or a container without CAP_SYS_ADMIN): {e.Message}";
        }
        finally
        {
            Directory.Delete(probe);
        }
    }

    private static void Run(string command, params string[] arguments)
    {
        var info = new ProcessStartInfo(command) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {command}");
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{command} {string.Join(' ', arguments)} exited {process.ExitCode}: {output.Trim()}");
        }
    }
}

/// <summary>A fact that mounts file systems: skipped, saying why, where the test cannot mount (not root, no capability).</summary>
public sealed class MountFactAttribute : FactAttribute
{
    public MountFactAttribute()
    {
        if (ScratchMount.Unavailable is { } reason)
        {
            Skip = reason;
        }
    }
}
