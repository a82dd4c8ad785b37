using System.Text.Json;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Training;

namespace RnnCluster.Coordinator.Reports;

/// <summary>Reads what a report needs from run directories: metrics.jsonl (required), summary.json and the newest config.hocon (when there).</summary>
public static class RunDirectoryReader
{
    public const string MetricsFile = "metrics.jsonl";
    public const string SummaryFile = "summary.json";

    /// <summary>Every run, labelled; all are read before anything is written, so bad input leaves no files behind.</summary>
    /// <exception cref="ReportInputException">A directory is missing, has no metrics.jsonl, or one of its files is malformed.</exception>
    public static IReadOnlyList<ReportRun> ReadAll(IReadOnlyList<string> directories)
    {
        ArgumentNullException.ThrowIfNull(directories);
        var full = directories.Select(d => Path.TrimEndingDirectorySeparator(Path.GetFullPath(d))).ToList();
        var labels = RunLabels.For(full);
        return [.. full.Select((d, i) => Read(d, labels[i]))];
    }

    public static ReportRun Read(string directory, string label)
    {
        if (!Directory.Exists(directory))
        {
            throw new ReportInputException(File.Exists(directory) ? $"{directory}: not a directory (give a run directory)" : $"{directory}: no such run directory");
        }

        var metrics = Path.Combine(directory, MetricsFile);
        if (!File.Exists(metrics))
        {
            throw new ReportInputException($"{directory}: no {MetricsFile} (not a run directory, or the run has not started)");
        }

        return new ReportRun(label, directory, MetricsFileReader.Read(metrics), ReadSummary(Path.Combine(directory, SummaryFile)), ReadSettings(directory));
    }

    private static RunSummary? ReadSummary(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return RunSummary.FromJson(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new ReportInputException($"{path}: not a run summary ({e.Message})", e);
        }
    }

    private static string? ReadSettings(string directory)
    {
        // Settings are a courtesy: a run without checkpoints (or with an unreadable layout) still reports.
        if (!Directory.Exists(Path.Combine(directory, "checkpoints")))
        {
            return null;
        }

        try
        {
            var newest = CheckpointStore.FindLatest(directory);
            var config = newest is null ? null : Path.Combine(newest, "config.hocon");
            return config is not null && File.Exists(config) ? File.ReadAllText(config) : null;
        }
        catch (Exception e) when (e is CheckpointException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
