using RnnCluster.Data;

namespace RnnCluster.Training;

/// <summary>
/// What the trainer tells an observer when it starts. <see cref="DataLayout"/> says how the training
/// split is batched, in words ("8 streams x 334 steps", "1,200 examples in batches of 32").
/// </summary>
public sealed record TrainingStart(long ParameterCount, int VocabularySize, string DataLayout, long StepsPerEpoch, long TotalSteps, long FirstStep, int Epochs, CorpusTask Task, string Device, int Threads);

/// <summary>One optimizer step: mean loss per target of its window, learning rate, gradient norm, throughput so far.</summary>
public sealed record StepReport(long Step, int Epoch, double Loss, double LearningRate, double GradientNorm, long Tokens, double TokensPerSecond, double EpochProgress, bool Applied);

/// <summary>An evaluation of a split after <see cref="Step"/> steps.</summary>
public sealed record EvaluationReport(long Step, int Epoch, string Split, EvaluationResult Result, bool Improved);

/// <summary>Receives progress from a <see cref="LanguageModelTrainer"/>; called on the training thread, keep it quick.</summary>
public interface ITrainingObserver
{
    void OnStart(TrainingStart start);

    void OnStep(StepReport step);

    void OnEvaluation(EvaluationReport evaluation);

    void OnCheckpoint(string directory, long step, bool isBest);

    /// <summary>A checkpoint could not be written; called from the background commit when it fails.</summary>
    void OnCheckpointFailed(long step, string directory, string error)
    {
    }
}
