using RnnCluster.Training;

namespace RnnCluster.Model.Checkpoints;

/// <summary>A verified checkpoint read back into memory: every file matched its manifest hash.</summary>
public sealed class LoadedCheckpoint
{
    public required string Directory { get; init; }

    public required CheckpointManifest Manifest { get; init; }

    public required IReadOnlyList<NamedTensor> ModelTensors { get; init; }

    public required IReadOnlyList<NamedTensor> OptimizerTensors { get; init; }

    public required TrainerState TrainerState { get; init; }

    public required string VocabularyJson { get; init; }

    public required string ConfigText { get; init; }

    /// <summary>
    /// Loaded from a run directory: one sentence per newer committed checkpoint that failed verification
    /// and was passed over (naming the file at fault); empty when the newest was whole.
    /// </summary>
    public IReadOnlyList<string> Skipped { get; private init; } = [];

    internal LoadedCheckpoint WithSkipped(IReadOnlyList<string> skipped) => new()
    {
        Directory = Directory,
        Manifest = Manifest,
        ModelTensors = ModelTensors,
        OptimizerTensors = OptimizerTensors,
        TrainerState = TrainerState,
        VocabularyJson = VocabularyJson,
        ConfigText = ConfigText,
        Skipped = skipped,
    };
}
