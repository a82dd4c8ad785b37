using RnnCluster.Tests.Support;
using RnnCluster.Data;
using RnnCluster.Model;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Training;

namespace RnnCluster.Tests.Checkpoints;

/// <summary>Small, fully known checkpoint contents for the store and reader tests.</summary>
internal static class CheckpointSamples
{
    public static readonly DateTimeOffset Now = new(2025, 3, 4, 5, 6, 7, TimeSpan.Zero);

    public static readonly ModelArchitecture Architecture = new(CellKind.Lstm, Layers: 2, EmbeddingSize: 4, HiddenSize: 3, VocabularySize: 5, TieWeights: false);

    public static readonly string[] Tokens = ["<unk>", "<eos>", "the", "cat", "sat"];

    public static readonly string VocabularyHashValue = VocabularyHash.Compute(Tokens);

    public const string VocabularyJson = "{\"tokens\":[\"<unk>\",\"<eos>\",\"the\",\"cat\",\"sat\"]}";

    public const string ConfigText = "training { lr = 20 }\n";

    public static CheckpointStore OpenStore(string runDirectory, int keepLast = 3, bool keepBest = true) =>
        CheckpointStore.Open(runDirectory, new CheckpointStoreOptions { KeepLast = keepLast, KeepBest = keepBest }, new ManualTimeProvider(Now));

    public static CheckpointContent Content(long step, double? validLoss = null, ReadOnlyMemory<byte>? optimizerBytes = null)
    {
        var stepValue = (float)step;
        return new CheckpointContent
        {
            Step = step,
            Epoch = 1,
            Architecture = Architecture,
            VocabularyJson = VocabularyJson,
            VocabularyHash = VocabularyHashValue,
            ConfigText = ConfigText,
            ModelTensors =
            [
                NamedTensor.FromFloats("encoder.weight", [5, 4], Enumerable.Range(0, 20).Select(i => i + stepValue).ToArray()),
                NamedTensor.FromFloats("rnn.bias_ih_l0", [12], Enumerable.Range(0, 12).Select(i => -i * 0.5f).ToArray()),
            ],
            OptimizerTensors =
            [
                new NamedTensor("step", TensorDType.I64, [], BitConverter.GetBytes(step)),
                new NamedTensor("exp_avg.0", TensorDType.U8, [8], optimizerBytes ?? new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }),
            ],
            State = State(step),
            ValidLoss = validLoss,
        };
    }

    public static TrainerState State(long step) => new()
    {
        Step = step,
        Epoch = 1,
        Cursor = step * 35,
        TokensSeen = step * 700,
        LearningRate = 20,
        PlateauLearningRate = 20,
        DataRandomState = [1UL, 2UL, ulong.MaxValue, 4UL],
        ModelRandomState = "AAEC",
    };
}
