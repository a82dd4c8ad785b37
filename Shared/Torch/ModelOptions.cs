using RnnCluster.Model;

namespace RnnCluster.Torch;

/// <summary>Floating-point precision of a model's parameters, gradients and states.</summary>
public enum Precision
{
    Float32 = 0,
    Float64 = 1,
}

/// <summary>
/// What every kind of model needs besides its architecture: dropout, initialisation, seed, placement and
/// precision. Each kind's options (<see cref="ModelOptions"/>, <see cref="AcceptorOptions"/>,
/// <see cref="TransducerOptions"/>, <see cref="Seq2SeqOptions"/>) adds the architecture.
/// </summary>
public abstract record TorchModelOptions
{
    public double DropoutEmbedding { get; init; }

    public double DropoutBetweenLayers { get; init; }

    public double DropoutOutput { get; init; }

    public double ForgetBias { get; init; } = 1.0;

    public double InitRange { get; init; } = 0.1;

    public ulong Seed { get; init; } = 1234;

    public TorchDevice Device { get; init; } = TorchDevice.Cpu;

    public Precision Precision { get; init; } = Precision.Float32;

    internal unsafe NativeModelConfig ToNative()
    {
        var config = new NativeModelConfig
        {
            StructSize = (uint)sizeof(NativeModelConfig),
            DType = (int)Precision,
            DeviceType = Device.IsCuda ? 1 : 0,
            DeviceIndex = Device.Index,
            DropoutEmbedding = DropoutEmbedding,
            DropoutBetweenLayers = DropoutBetweenLayers,
            DropoutOutput = DropoutOutput,
            ForgetBias = ForgetBias,
            InitRange = InitRange,
            Seed = Seed,
        };
        DescribeArchitecture(ref config);
        return config;
    }

    /// <summary>Fills the task kind and the architecture fields of the native configuration.</summary>
    private protected abstract void DescribeArchitecture(ref NativeModelConfig config);
}

/// <summary>Everything the bridge needs to build a language model: architecture plus dropout, initialisation, seed and placement.</summary>
public sealed record ModelOptions(ModelArchitecture Architecture) : TorchModelOptions
{
    private protected override void DescribeArchitecture(ref NativeModelConfig config)
    {
        var a = Architecture;
        if (a.TieWeights && a.EmbeddingSize != a.HiddenSize)
        {
            throw new TorchArgumentException($"tied weights need embedding-size == hidden-size, got {a.EmbeddingSize} and {a.HiddenSize}");
        }

        config.Task = NativeTask.LanguageModel;
        config.Cell = (int)a.Cell;
        config.Layers = a.Layers;
        config.VocabSize = a.VocabularySize;
        config.EmbeddingSize = a.EmbeddingSize;
        config.HiddenSize = a.HiddenSize;
        config.TieWeights = a.TieWeights ? 1 : 0;
    }
}

/// <summary>One named tensor's place in the flat parameter buffer, in PyTorch state_dict order.</summary>
public sealed record ParameterSlice(string Name, long Offset, long Count, long[] Shape);

/// <summary>Loss sum, counted targets and (when asked) correct argmax predictions of one window.</summary>
public readonly record struct WindowResult(double LossSum, long Tokens, long Correct);

/// <summary>Values of <c>rnn_task</c>.</summary>
internal static class NativeTask
{
    public const int LanguageModel = 0;
    public const int Acceptor = 1;
    public const int Transducer = 2;
    public const int Seq2Seq = 3;
}
