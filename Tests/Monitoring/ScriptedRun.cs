using RnnCluster.Data;
using RnnCluster.Monitoring;
using RnnCluster.Training;

namespace RnnCluster.Tests.Monitoring;

/// <summary>Reports a made-up run to a monitor, the way the trainer and the actors would.</summary>
internal static class ScriptedRun
{
    public static TrainingStart Start(long totalSteps = 100) =>
        new(ParameterCount: 1234, VocabularySize: 50, DataLayout: "8 streams x 100 steps", StepsPerEpoch: 50, TotalSteps: totalSteps, FirstStep: 0, Epochs: 2, Task: CorpusTask.LanguageModel, Device: "cpu", Threads: 1);

    /// <summary>Step <paramref name="step"/> with loss 10/step, learning rate 0.5, gradient norm step/10, 1000·step tokens/s.</summary>
    public static StepReport Step(long step, int epoch = 0) =>
        new(step, epoch, Loss: 10.0 / step, LearningRate: 0.5, GradientNorm: step / 10.0, Tokens: 80 * step, TokensPerSecond: 1000.0 * step, EpochProgress: step / 50.0, Applied: true);

    /// <summary>A validation whose loss is exactly <paramref name="loss"/> (1000 targets).</summary>
    public static EvaluationReport Valid(long step, double loss) =>
        new(step, 0, "valid", new EvaluationResult(loss * 1000, 1000, 500), Improved: true);

    public static MemberStatus Worker(int index, string state, double? stepMs = null) =>
        new(index, MemberStates.Worker, $"local/worker-{index}", state, 1, stepMs, 0.5);

    public static RunMonitor Monitor(TimeProvider time, int trainCapacity = RunMonitor.DefaultTrainCapacity) =>
        new("/runs/test", "parallel", "language-model", time, trainCapacity);
}
