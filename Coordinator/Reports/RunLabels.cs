namespace RnnCluster.Coordinator.Reports;

/// <summary>
/// Names runs by their directory's name; where two runs share one (a/run and b/run), each takes as many
/// parent folders as it needs to be told apart, so a legend never has two equal entries.
/// </summary>
public static class RunLabels
{
    public static IReadOnlyList<string> For(IReadOnlyList<string> fullPaths)
    {
        ArgumentNullException.ThrowIfNull(fullPaths);
        var parts = fullPaths.Select(p => p.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries)).ToList();
        var depth = Enumerable.Repeat(1, parts.Count).ToArray();
        while (true)
        {
            var labels = parts.Select((p, i) => string.Join('/', p.TakeLast(Math.Min(depth[i], Math.Max(p.Length, 1))))).ToList();
            var clashes = labels.Select((label, i) => (label, i)).GroupBy(x => x.label, StringComparer.Ordinal).Where(g => g.Count() > 1).SelectMany(g => g).ToList();
            var grown = false;
            foreach (var (_, i) in clashes)
            {
                if (depth[i] < parts[i].Length)
                {
                    depth[i]++;
                    grown = true;
                }
            }

            if (!grown)
            {
                // The same directory given twice: number the repeats rather than loop forever.
                return [.. labels.Select((label, i) => labels.Take(i).Count(l => l == label) is var n and > 0 ? $"{label} ({n + 1})" : label)];
            }
        }
    }
}
