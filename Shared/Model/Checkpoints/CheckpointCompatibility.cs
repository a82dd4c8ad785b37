namespace RnnCluster.Model.Checkpoints;

/// <summary>Decides whether a checkpoint can be resumed by (or loaded into) a run with a given model and vocabulary.</summary>
public static class CheckpointCompatibility
{
    /// <summary>
    /// Throws a <see cref="CheckpointException"/> listing every field that differs between the
    /// checkpoint and the expected model, as "field: checkpoint vs expected", so one failed resume
    /// shows everything to fix at once.
    /// </summary>
    public static void EnsureCompatible(CheckpointManifest manifest, ModelArchitecture expected, string expectedVocabularyHash, string checkpointPath)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentException.ThrowIfNullOrEmpty(expectedVocabularyHash);
        ArgumentNullException.ThrowIfNull(checkpointPath);

        var differences = new List<string>(manifest.Architecture.Differences(expected));
        if (!string.Equals(manifest.VocabularyHash, expectedVocabularyHash, StringComparison.OrdinalIgnoreCase))
        {
            differences.Add(
                $"vocabulary: hash {CheckpointReader.Abbreviate(manifest.VocabularyHash)} vs {CheckpointReader.Abbreviate(expectedVocabularyHash)} " +
                $"({manifest.Architecture.VocabularySize} vs {expected.VocabularySize} tokens)");
        }

        if (differences.Count > 0)
        {
            throw new CheckpointException(
                $"checkpoint {checkpointPath} does not match this run (checkpoint vs expected): {string.Join("; ", differences)}.");
        }
    }
}
