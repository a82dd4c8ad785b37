namespace RnnCluster.Model.Checkpoints;

/// <summary>Which committed checkpoints retention deletes; pure, so the policy is testable without a disk.</summary>
internal static class CheckpointRetention
{
    /// <param name="committed">Committed checkpoint directories, oldest step first.</param>
    /// <param name="keepLast">How many of the newest to keep.</param>
    /// <param name="alwaysKeep">Directories kept regardless of age: the one just committed and, when kept, the best.</param>
    public static IReadOnlyList<string> SelectForDeletion(IReadOnlyList<(long Step, string Path)> committed, int keepLast, IEnumerable<string> alwaysKeep)
    {
        var keep = new HashSet<string>(alwaysKeep, StringComparer.Ordinal);
        for (var i = Math.Max(0, committed.Count - keepLast); i < committed.Count; i++)
        {
            keep.Add(committed[i].Path);
        }

        return [.. committed.Select(c => c.Path).Where(p => !keep.Contains(p))];
    }
}
