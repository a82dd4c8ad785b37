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
}
