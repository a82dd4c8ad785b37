using RnnCluster.Model;

namespace RnnCluster.Torch;

/// <summary>Floating-point precision of a model's parameters, gradients and states.</summary>
public enum Precision
{
    Float32 = 0,
    Float64 = 1,
}

/// <summary>Everything the bridge needs to build a model: architecture plus dropout, initialisation, seed and placement.</summary>
public sealed record ModelOptions(ModelArchitecture Architecture)
{
    public double DropoutEmbedding { get; init; }

    public double DropoutBetweenLayers { get; init; }

    public double DropoutOutput { get; init; }

    public double ForgetBias { get; init; } = 1.0;

    public double InitRange { get; init; } = 0.1;

    public ulong Seed { get; init; } = 1234;

    public TorchDevice Device { get; init; } = TorchDevice.Cpu;

    public Precision Precision { get; init; } = Precision.Float32;
}

/// <summary>One named tensor's place in the flat parameter buffer, in PyTorch state_dict order.</summary>
public sealed record ParameterSlice(string Name, long Offset, long Count, long[] Shape);

/// <summary>Loss sum, counted targets and (when asked) correct argmax predictions of one window.</summary>
public readonly record struct WindowResult(double LossSum, long Tokens, long Correct);
