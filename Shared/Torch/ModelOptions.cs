using RnnCluster.Model;

namespace RnnCluster.Torch;

/// <summary>Floating-point precision of a model's parameters, gradients and states.</summary>
public enum Precision
{
    Float32 = 0,
    Float64 = 1,
}

/// <summary>Element type of the large matrix products (the output layers): the model's own, or bfloat16 with fp32 master weights.</summary>
public enum ComputePrecision
{
    Native = 0,
    BFloat16 = 1,
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

    /// <summary>Element type of the matrix products of the output layers: <see cref="Precision"/>'s, or bfloat16 (mixed precision, fp32 master weights).</summary>
    public ComputePrecision Compute { get; init; } = ComputePrecision.Native;

    internal TorchSharp.torch.ScalarType ComputeType => Compute == ComputePrecision.BFloat16
        ? TorchSharp.torch.ScalarType.BFloat16
        : Precision == Precision.Float64 ? TorchSharp.torch.ScalarType.Float64 : TorchSharp.torch.ScalarType.Float32;

    /// <summary>Refuses settings no model can have, naming the value.</summary>
    internal virtual void Validate()
    {
        foreach (var p in new[] { DropoutEmbedding, DropoutBetweenLayers, DropoutOutput })
        {
            if (!(p >= 0.0 && p < 1.0))
            {
                throw new TorchArgumentException($"dropout must be in [0, 1), got {p}");
            }
        }

        if (!(InitRange > 0.0))
        {
            throw new TorchArgumentException("init_range must be > 0");
        }

        if (Compute == ComputePrecision.BFloat16 && Precision != Precision.Float32)
        {
            throw new TorchArgumentException("bf16 mixed precision needs float32 master weights");
        }
    }

    private protected static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new TorchArgumentException(message);
        }
    }
}

/// <summary>Everything it takes to build a language model: architecture plus dropout, initialisation, seed and placement.</summary>
public sealed record ModelOptions(ModelArchitecture Architecture) : TorchModelOptions
{
    /// <summary>The default of <see cref="DecoderGradientBlocks"/> (and of <c>cluster.decoder-gradient-blocks</c>).</summary>
    public const int DefaultDecoderGradientBlocks = 1;

    /// <summary>
    /// When a gradient sink is set: how many blocks of vocabulary rows an untied full-precision decoder
    /// reports its gradients in while its own backward runs (<see cref="ReportingDecoder"/>); 1 (the
    /// default) reports it whole once its backward has returned. The gradients are the same bits either way.
    /// </summary>
    public int DecoderGradientBlocks { get; init; } = DefaultDecoderGradientBlocks;

    internal override void Validate()
    {
        base.Validate();
        Require(DecoderGradientBlocks >= 1, $"decoder gradient blocks must be >= 1, got {DecoderGradientBlocks}");
        var a = Architecture;
        if (a.TieWeights && a.EmbeddingSize != a.HiddenSize)
        {
            throw new TorchArgumentException($"tied weights need embedding-size == hidden-size, got {a.EmbeddingSize} and {a.HiddenSize}");
        }

        Require(a.Layers >= 1, $"layers must be >= 1, got {a.Layers}");
        Require(a.VocabularySize >= 1, $"vocab_size must be >= 1, got {a.VocabularySize}");
        Require(a.EmbeddingSize >= 1, $"embedding_size must be >= 1, got {a.EmbeddingSize}");
        Require(a.HiddenSize >= 1, $"hidden_size must be >= 1, got {a.HiddenSize}");
    }
}

/// <summary>One named tensor's place in the flat parameter buffer, in PyTorch state_dict order.</summary>
public sealed record ParameterSlice(string Name, long Offset, long Count, long[] Shape);

/// <summary>Loss sum, counted targets and (when asked) correct argmax predictions of one window.</summary>
public readonly record struct WindowResult(double LossSum, long Tokens, long Correct);
