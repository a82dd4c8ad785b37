using RnnCluster.Config;
using RnnCluster.Data;
using RnnCluster.Torch;

namespace RnnCluster.Training;

/// <summary>Translates resolved settings into the options of the data layer, the models and the optimizer.</summary>
public static class TrainingSetup
{
    /// <summary>Seed of the data-order generator, derived from runtime.seed so one setting fixes the whole run.</summary>
    public static ulong DataSeed(RuntimeSettings runtime)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        return unchecked((ulong)runtime.Seed ^ 0x5EED_DA7A_0000_0001UL);
    }

    public static CorpusOptions Corpus(DataSettings data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new CorpusOptions
        {
            Tokenizer = data.Tokenizer == TokenizerKind.Char ? TextTokenizer.Char : TextTokenizer.Word,
            MinCount = data.MinCount,
            Utf8Policy = data.InvalidUtf8 == InvalidUtf8Policy.Replace ? Utf8Policy.Replace : Utf8Policy.Error,
            ValidFraction = data.ValidFraction,
            TestFraction = data.TestFraction,
            BuiltinSentences = data.Builtin.Sentences,
            BuiltinSeed = data.Builtin.Seed,
            ParityLength = data.Builtin.ParityLength,
        };
    }

    public static ModelOptions Model(RnnClusterSettings settings, int vocabularySize)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var device = Device(settings.Runtime);
        var m = settings.Model;
        return new ModelOptions(m.ToArchitecture(vocabularySize))
        {
            DropoutEmbedding = m.Dropout.Embedding,
            DropoutBetweenLayers = m.Dropout.BetweenLayers,
            DropoutOutput = m.Dropout.Output,
            ForgetBias = m.ForgetBias,
            InitRange = m.InitRange,
            Seed = unchecked((ulong)settings.Runtime.Seed),
            Device = device,
            Compute = settings.Runtime.Precision,
            DecoderGradientBlocks = settings.Cluster.DecoderGradientBlocks,
        };
    }

    /// <summary>runtime.device as a libtorch device.</summary>
    public static TorchDevice Device(RuntimeSettings runtime)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        return TorchDevice.TryParse(runtime.Device, out var device)
            ? device
            : throw new ConfigException($"runtime.device = \"{runtime.Device}\": expected cpu, cuda or cuda:N");
    }

    public static OptimizerOptions Optimizer(TrainingSettings training)
    {
        ArgumentNullException.ThrowIfNull(training);
        var algorithm = training.Optimizer switch
        {
            OptimizerKind.Adam => OptimizerAlgorithm.Adam,
            OptimizerKind.AdamW => OptimizerAlgorithm.AdamW,
            _ => OptimizerAlgorithm.Sgd,
        };
        return new OptimizerOptions(algorithm)
        {
            Momentum = training.Momentum,
            WeightDecay = training.WeightDecay,
            Beta1 = training.AdamBeta1,
            Beta2 = training.AdamBeta2,
            Epsilon = training.AdamEpsilon,
        };
    }

    /// <summary>runtime.threads, where 0 means every core of the machine.</summary>
    public static int Threads(RuntimeSettings runtime)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        return runtime.Threads > 0 ? runtime.Threads : Environment.ProcessorCount;
    }
}
