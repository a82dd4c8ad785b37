using System.Globalization;

namespace RnnCluster.Model.Checkpoints;

/// <summary>
/// Names and on-disk rules of a run's checkpoints:
/// <c>&lt;run&gt;/checkpoints/step-NNNNNNNNN/{model.safetensors, optimizer.safetensors, trainer.json,
/// vocab.json, config.hocon, manifest.json, COMMITTED}</c> and the <c>BEST</c> pointer beside them.
/// </summary>
internal static class CheckpointLayout
{
    public const string CheckpointsFolder = "checkpoints";
    public const string ModelFile = "model.safetensors";
    public const string OptimizerFile = "optimizer.safetensors";
    public const string TrainerFile = "trainer.json";
    public const string VocabularyFile = "vocab.json";
    public const string ConfigFile = "config.hocon";
    public const string ManifestFile = "manifest.json";
    public const string CommittedMarker = "COMMITTED";
    public const string BestPointer = "BEST";
    public const string TempPrefix = ".tmp-";

    /// <summary>Appended (with a random suffix) to a damaged committed checkpoint set aside when its step is written again.</summary>
    public const string DamagedSuffix = ".damaged-";

    private const string StepPrefix = "step-";

    /// <summary>The files a manifest must list; readers refuse a manifest that leaves one out.</summary>
    public static readonly IReadOnlyList<string> ListedFiles = [ModelFile, OptimizerFile, TrainerFile, VocabularyFile, ConfigFile];

    public static string CheckpointsDirectory(string runDirectory) => Path.Combine(Path.GetFullPath(runDirectory), CheckpointsFolder);

    /// <summary>Nine digits so that names sort in step order in any directory listing.</summary>
    public static string DirectoryName(long step) => StepPrefix + step.ToString("D9", CultureInfo.InvariantCulture);

    public static bool TryParseStep(string directoryName, out long step)
    {
        step = 0;
        return directoryName.StartsWith(StepPrefix, StringComparison.Ordinal)
            && directoryName.Length >= StepPrefix.Length + 9
            && directoryName.AsSpan(StepPrefix.Length).IndexOfAnyExceptInRange('0', '9') < 0
            && long.TryParse(directoryName.AsSpan(StepPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out step);
    }

    /// <summary>
    /// Committed means the marker holds a complete hash. A marker torn by a crash between its creation
    /// and its fsync is empty or short, and that checkpoint was never committed. A full-length marker
    /// with wrong content is committed but damaged: the reader reports it, and nothing deletes it.
    /// </summary>
    public static bool IsCommitted(string checkpointDirectory) => ReadMarker(checkpointDirectory) is not null;

    /// <summary>The marker's 64-character text, or null when the marker is missing or incomplete.</summary>
    public static string? ReadMarker(string checkpointDirectory)
    {
        var path = Path.Combine(checkpointDirectory, CommittedMarker);
        try
        {
            var text = File.ReadAllText(path).Trim();
            return text.Length == 64 ? text : null;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Committed checkpoint directories of a run, oldest step first.</summary>
    public static List<(long Step, string Path)> Committed(string checkpointsDirectory)
    {
        var found = new List<(long Step, string Path)>();
        if (!Directory.Exists(checkpointsDirectory))
        {
            return found;
        }

        foreach (var directory in Directory.EnumerateDirectories(checkpointsDirectory))
        {
            if (TryParseStep(Path.GetFileName(directory), out var step) && IsCommitted(directory))
            {
                found.Add((step, directory));
            }
        }

        found.Sort((a, b) => a.Step.CompareTo(b.Step));
        return found;
    }

    /// <summary>The directory <c>BEST</c> points to when it is a committed checkpoint of this run; null otherwise.</summary>
    public static string? ReadBest(string checkpointsDirectory)
    {
        string name;
        try
        {
            name = File.ReadAllText(Path.Combine(checkpointsDirectory, BestPointer)).Trim();
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        // Only a bare step name is followed, so a hand-edited pointer cannot lead outside the run.
        if (!TryParseStep(name, out _))
        {
            return null;
        }

        var directory = Path.Combine(checkpointsDirectory, name);
        return Directory.Exists(directory) && IsCommitted(directory) ? directory : null;
    }
}
