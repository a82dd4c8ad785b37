using RnnCluster.Training;

namespace RnnCluster.Model.Checkpoints;

/// <summary>
/// Everything one checkpoint holds, fully materialised (tensor bytes copied out of libtorch, texts
/// rendered) so <see cref="CheckpointStore.CommitAsync"/> can run on a background thread while training
/// goes on and mutates the live model.
/// </summary>
public sealed class CheckpointContent
{
    public required long Step { get; init; }

    public required int Epoch { get; init; }

    public required ModelArchitecture Architecture { get; init; }

    /// <summary>The vocabulary file's text, stored verbatim as <c>vocab.json</c>.</summary>
    public required string VocabularyJson { get; init; }

    /// <summary><see cref="Data.VocabularyHash"/> of that vocabulary, recorded in the manifest.</summary>
    public required string VocabularyHash { get; init; }

    /// <summary>The resolved configuration, stored verbatim as <c>config.hocon</c>.</summary>
    public required string ConfigText { get; init; }

    /// <summary>Model parameters named by their PyTorch state_dict keys.</summary>
    public required IReadOnlyList<NamedTensor> ModelTensors { get; init; }

    public required IReadOnlyList<NamedTensor> OptimizerTensors { get; init; }

    public required TrainerState State { get; init; }

    /// <summary>Validation loss at this step, or null when none was measured; the lowest one becomes the best checkpoint.</summary>
    public double? ValidLoss { get; init; }

    /// <summary>Refuses content that would produce a checkpoint contradicting itself.</summary>
    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(Step);
        ArgumentOutOfRangeException.ThrowIfNegative(Epoch);
        ArgumentNullException.ThrowIfNull(Architecture);
        ArgumentNullException.ThrowIfNull(VocabularyJson);
        ArgumentException.ThrowIfNullOrEmpty(VocabularyHash);
        ArgumentNullException.ThrowIfNull(ConfigText);
        ArgumentNullException.ThrowIfNull(ModelTensors);
        ArgumentNullException.ThrowIfNull(OptimizerTensors);
        ArgumentNullException.ThrowIfNull(State);
        if (State.Step != Step || State.Epoch != Epoch)
        {
            throw new ArgumentException($"Checkpoint content is for step {Step}, epoch {Epoch} but its trainer state says step {State.Step}, epoch {State.Epoch}.");
        }
    }
}
