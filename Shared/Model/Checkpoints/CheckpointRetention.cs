namespace RnnCluster.Model.Checkpoints;

/// <summary>Which committed checkpoints retention deletes; pure (verification is passed in), so the policy is testable without a disk.</summary>
public static class CheckpointRetention
{
    /// <param name="committed">Committed checkpoint directories, oldest step first.</param>
    /// <param name="keepLast">How many of the newest intact ones to keep.</param>
    /// <param name="alwaysKeep">Directories kept regardless of age: the one just committed and, when kept, the best.</param>
    /// <param name="isIntact">Verifies one checkpoint; asked newest first, only until <paramref name="keepLast"/> intact ones are found.</param>
    /// <returns>
    /// The checkpoints to delete: those older than the <paramref name="keepLast"/>-th newest intact one (none
    /// while fewer are intact, so a damaged newest never costs the older good ones), and the damaged ones among
    /// those kept, which are never deleted here: an operator may want to look at them.
    /// </returns>
    public static (IReadOnlyList<string> Delete, IReadOnlyList<string> Damaged) SelectForDeletion(
        IReadOnlyList<(long Step, string Path)> committed, int keepLast, IEnumerable<string> alwaysKeep, Func<string, bool> isIntact)
    {
        var keep = new HashSet<string>(alwaysKeep, StringComparer.Ordinal);
        var damaged = new List<string>();
        var intact = 0;
        var cutoff = committed.Count;
        for (var i = committed.Count - 1; i >= 0 && intact < keepLast; i--)
        {
            cutoff = i;
            if (isIntact(committed[i].Path))
            {
                intact++;
            }
            else
            {
                damaged.Add(committed[i].Path);
            }
        }

        if (intact < keepLast)
        {
            return ([], damaged);
        }

        return ([.. committed.Take(cutoff).Select(c => c.Path).Where(p => !keep.Contains(p))], damaged);
    }
}
