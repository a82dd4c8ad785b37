using System.Globalization;

namespace RnnCluster.Model.Checkpoints;

/// <summary>
/// Exclusive right to write a run directory, held while a training loop owns it: two trainers (two
/// coordinators after a partition, or a run started twice) must never commit checkpoints into one
/// directory. An OS file lock (<c>flock</c> through .NET's <see cref="FileShare.None"/>) on
/// <c>&lt;run&gt;/.lock</c>: the kernel drops it when the holder exits, even on <c>kill -9</c>, so a
/// crashed holder never blocks the next one. Who holds it is written beside it for the refusal message.
/// </summary>
public sealed class RunDirectoryLock : IDisposable
{
    public const string LockFileName = ".lock";

    public const string HolderFileName = ".lock-holder";

    private readonly FileStream _lock;

    private RunDirectoryLock(FileStream lockFile, string runDirectory)
    {
        _lock = lockFile;
        RunDirectory = runDirectory;
    }

    public string RunDirectory { get; }

    /// <summary>Takes the lock or refuses at once, naming who holds it (no waiting: the holder may run for days).</summary>
    /// <exception cref="CheckpointException">Another loop, in this process or another, holds it.</exception>
    public static RunDirectoryLock Acquire(string runDirectory, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(runDirectory);
        ArgumentNullException.ThrowIfNull(time);
        var full = Path.GetFullPath(runDirectory);
        Directory.CreateDirectory(full);
        FileStream stream;
        try
        {
            stream = new FileStream(Path.Combine(full, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            var holder = ReadHolder(full);
            throw new CheckpointException($"run directory {full} is in use by another trainer{(holder.Length > 0 ? $" ({holder})" : string.Empty)}; two trainers never write one run directory (pick another --run-dir, or stop the other one)", e) { RunDirectoryInUse = true };
        }

        var me = $"process {Environment.ProcessId.ToString(CultureInfo.InvariantCulture)} on {Environment.MachineName} since {time.GetUtcNow():yyyy-MM-dd HH:mm:ss} UTC";
        File.WriteAllText(Path.Combine(full, HolderFileName), me);
        return new RunDirectoryLock(stream, full);
    }

    public void Dispose() => _lock.Dispose();

    private static string ReadHolder(string runDirectory)
    {
        try
        {
            return File.ReadAllText(Path.Combine(runDirectory, HolderFileName)).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return string.Empty;
        }
    }
}
