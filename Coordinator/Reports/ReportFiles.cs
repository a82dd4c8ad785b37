namespace RnnCluster.Coordinator.Reports;

/// <summary>
/// Writes a report's files so that none is ever seen half-written: every file goes to a temporary
/// name in the target folder first, and only when all of them are on disk is each renamed over its
/// final name (a rename within one folder is atomic). A failure removes the temporaries and leaves
/// the previous report, if any, as it was.
/// </summary>
public static class ReportFiles
{
    /// <returns>The final paths, in the order given.</returns>
    public static IReadOnlyList<string> WriteAll(string directory, IReadOnlyList<KeyValuePair<string, byte[]>> files)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(files);
        Directory.CreateDirectory(directory);
        var staged = new List<(string Temp, string Final)>();
        try
        {
            foreach (var (name, content) in files)
            {
                var temp = Path.Combine(directory, $".{name}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
                staged.Add((temp, Path.Combine(directory, name)));
                using var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None);
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }

            foreach (var (temp, final) in staged)
            {
                File.Move(temp, final, overwrite: true);
            }
        }
        catch
        {
            foreach (var (temp, _) in staged)
            {
                File.Delete(temp); // no-op for a temporary already renamed or never created
            }

            throw;
        }

        return [.. staged.Select(s => s.Final)];
    }
}
