using System.Globalization;

namespace RnnCluster.Model.Checkpoints;

/// <summary>
/// The run directory's fencing number (<c>&lt;run&gt;/fence</c>): every trainer that opens the run
/// directory (under its lock) takes the next number, and commits a checkpoint only while the file still
/// holds its own. A coordinator that lost its role — a cluster singleton that moved while this one was
/// cut off, or whose lock a network filesystem failed to enforce — then has its writes refused instead
/// of interleaving checkpoints with its successor's. The number also marks the run's step commands.
/// </summary>
public static class RunFence
{
    public const string FileName = "fence";

    /// <summary>The run directory's current number; 0 before any trainer took one.</summary>
    /// <exception cref="CheckpointException">The file exists but holds no number.</exception>
    public static long Read(string runDirectory)
    {
        var path = Path.Combine(runDirectory, FileName);
        string text;
        try
        {
            text = File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return 0;
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var fence)
            ? fence
            : throw new CheckpointException($"{path}: '{text}' is not a fencing number; it holds the number of the trainer that owns this run directory (delete it only when no trainer uses the directory)");
    }

    /// <summary>Takes the next number, durably; call it holding the run directory's lock.</summary>
    public static long Advance(string runDirectory)
    {
        var next = Read(runDirectory) + 1;
        DurableFile.ReplaceAtomically(Path.Combine(runDirectory, FileName), next.ToString(CultureInfo.InvariantCulture) + "\n");
        return next;
    }

    /// <summary>Refuses to go on unless <paramref name="fence"/> still owns the run directory.</summary>
    /// <exception cref="CheckpointException">A newer trainer took the run directory over.</exception>
    public static void EnsureOwner(string runDirectory, long fence)
    {
        var current = Read(runDirectory);
        if (current != fence)
        {
            throw new CheckpointException($"{Path.Combine(runDirectory, FileName)} holds fence {current}, this trainer has {fence}: a newer coordinator took this run over, so this one's checkpoint is refused (nothing it wrote before is touched)");
        }
    }
}
