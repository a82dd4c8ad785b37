namespace RnnCluster.Model.Checkpoints;

/// <summary>
/// <c>manifest.json</c>: what a checkpoint is (step, architecture, vocabulary) and the SHA-256 of every
/// other file in it, so a reader can tell a complete checkpoint from a damaged one before using it.
/// </summary>
public sealed record CheckpointManifest
{
    /// <summary>Value of <see cref="Format"/>; anything else is not one of our checkpoints.</summary>
    public const string FormatName = "rnncluster-checkpoint";

    /// <summary>The newest layout this build writes and reads. Bump it when a reader of the old layout would misread the new one.</summary>
    public const int CurrentFormatVersion = 1;

    public required string Format { get; init; }

    public required int FormatVersion { get; init; }

    public required DateTimeOffset CreatedUtc { get; init; }

    public required long Step { get; init; }

    public required int Epoch { get; init; }

    /// <summary>Written with the cell's configuration name (<c>lstm</c>, <c>gru</c>, …).</summary>
    public required ModelArchitecture Architecture { get; init; }

    /// <summary><see cref="Data.VocabularyHash"/> of the vocabulary the model was trained with.</summary>
    public required string VocabularyHash { get; init; }

    /// <summary>Validation loss at this step, or null when none was measured.</summary>
    public double? ValidLoss { get; init; }

    /// <summary>The writer's <see cref="RunFence"/> number (0 in checkpoints written before fencing, or unfenced).</summary>
    public long Fence { get; init; }

    /// <summary>File name to lower-case hex SHA-256 for every file of the checkpoint except the manifest and the marker.</summary>
    public required IReadOnlyDictionary<string, string> Files { get; init; }
}
