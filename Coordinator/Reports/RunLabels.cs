namespace RnnCluster.Coordinator.Reports;

/// <summary>
/// Names runs by their directory's name; where two runs share one (a/run and b/run), each takes as many
/// parent folders as it needs to be told apart, so a legend never has two equal entries. The same
/// directory given twice keeps its name and the repeat is numbered.
/// </summary>
public static class RunLabels
{
    public static IReadOnlyList<string> For(IReadOnlyList<string> fullPaths)
    {
        ArgumentNullException.ThrowIfNull(fullPaths);
        var distinct = fullPaths.Distinct(StringComparer.Ordinal).ToList();
        var parts = distinct.Select(p => p.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries)).ToList();
        var depth = Enumerable.Repeat(1, parts.Count).ToArray();
        List<string> labels;
        bool grown;
        do
        {
            labels = [.. parts.Select((p, i) => string.Join('/', p.TakeLast(depth[i])))];
            grown = false;
            foreach (var clash in labels.Select((label, i) => (label, i)).GroupBy(x => x.label, StringComparer.Ordinal).Where(g => g.Count() > 1))
            {
                foreach (var (_, i) in clash.Where(x => depth[x.i] < parts[x.i].Length))
                {
                    depth[i]++;
                    grown = true;
                }
            }
        }
        while (grown);

        var byPath = distinct.Select((p, i) => (p, labels[i])).ToDictionary(x => x.p, x => x.Item2, StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        return [.. fullPaths.Select(p => (seen[p] = seen.GetValueOrDefault(p) + 1) is var n and > 1 ? $"{byPath[p]} ({n})" : byPath[p])];
    }
}
