namespace RnnCluster.Model.Checkpoints;

/// <summary>The result of a successful commit.</summary>
/// <param name="Directory">Full path of the committed <c>step-NNNNNNNNN</c> directory.</param>
/// <param name="Step">Optimizer step the checkpoint was taken at.</param>
/// <param name="IsBest">Whether it became the best checkpoint (lowest validation loss so far).</param>
/// <param name="Pruned">Checkpoint directories that retention deleted after this commit.</param>
public sealed record CommittedCheckpoint(string Directory, long Step, bool IsBest, IReadOnlyList<string> Pruned)
{
    /// <summary>Kept checkpoints that failed verification before retention ran (reported, not deleted, not counted toward keep-last).</summary>
    public IReadOnlyList<string> Corrupt { get; init; } = [];
}
