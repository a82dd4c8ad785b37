using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace RnnCluster.Torch;

/// <summary>Optimizer kinds, applied to flat buffers.</summary>
public enum OptimizerAlgorithm
{
    Sgd = 0,
    Adam = 1,
    AdamW = 2,
}

/// <summary>Hyper-parameters of an <see cref="Optimizer"/>; the learning rate is given per step.</summary>
public sealed record OptimizerOptions(OptimizerAlgorithm Algorithm)
{
    public double Momentum { get; init; }

    public bool Nesterov { get; init; }

    public double WeightDecay { get; init; }

    public double Beta1 { get; init; } = 0.9;

    public double Beta2 { get; init; } = 0.999;

    public double Epsilon { get; init; } = 1e-8;
}

/// <summary>
/// SGD (momentum, Nesterov), Adam or AdamW applied to a model's flat parameter buffer in one fused
/// update of a few whole-buffer operations (torch.optim's per-tensor loops would make ~20 small calls per
/// parameter). Update rules follow torch.optim.SGD, Adam and AdamW. Its state buffers
/// (<see cref="StateNames"/>) share the parameter layout, so checkpoints store them as flat tensors.
/// </summary>
public sealed class Optimizer : IDisposable
{
    private readonly Tensor[] _states;

    public Optimizer(TorchModel model, OptimizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        Require(options.WeightDecay >= 0.0, "weight_decay must be >= 0");
        string[] names;
        switch (options.Algorithm)
        {
            case OptimizerAlgorithm.Sgd:
                Require(options.Momentum >= 0.0 && options.Momentum < 1.0, "momentum must be in [0, 1)");
                Require(!options.Nesterov || options.Momentum > 0.0, "nesterov needs momentum > 0");
                names = options.Momentum > 0.0 ? ["momentum_buffer"] : [];
                break;
            case OptimizerAlgorithm.Adam:
            case OptimizerAlgorithm.AdamW:
                Require(options.Beta1 >= 0.0 && options.Beta1 < 1.0 && options.Beta2 >= 0.0 && options.Beta2 < 1.0, "betas must be in [0, 1)");
                Require(options.Epsilon > 0.0, "epsilon must be > 0");
                names = ["exp_avg", "exp_avg_sq"];
                break;
            default:
                throw new TorchArgumentException($"unknown optimizer kind {options.Algorithm}");
        }

        Options = options;
        Precision = model.Precision;
        StateLength = model.ParameterCount;
        StateNames = names;
        _states = names.Select(_ => zeros_like(model.Flat).DetachFromDisposeScope()).ToArray();
    }

    public OptimizerOptions Options { get; }

    /// <summary>Element type of the state buffers: that of the model the optimizer was made for.</summary>
    public Precision Precision { get; }

    /// <summary>Names of the state buffers (<c>momentum_buffer</c>; <c>exp_avg</c>, <c>exp_avg_sq</c>).</summary>
    public IReadOnlyList<string> StateNames { get; }

    /// <summary>Elements in each state buffer (= parameter count).</summary>
    public long StateLength { get; }

    /// <summary>Updates taken so far (Adam's bias correction depends on it).</summary>
    public long StepCount
    {
        get;
        set
        {
            Require(value >= 0, "step must be >= 0");
            field = value;
        }
    }

    /// <summary>One update of <paramref name="model"/>'s parameters from its gradient buffer.</summary>
    public void Step(TorchModel model, double learningRate)
    {
        ArgumentNullException.ThrowIfNull(model);
        Require(model.ParameterCount == StateLength, "optimizer was created for another model");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var p = model.Flat;
        var g = model.FlatGrad;
        var o = Options;
        StepCount++;
        // Every scalar argument under using: a temporary one may be freed by the GC while libtorch reads it (FillValues).
        using var weightDecay = o.WeightDecay.ToScalar();
        if (o.Algorithm == OptimizerAlgorithm.Sgd)
        {
            using var momentum = o.Momentum.ToScalar();
            using var step = (-learningRate).ToScalar();
            var d = o.WeightDecay != 0.0 ? g.add(p, weightDecay) : g;
            if (o.Momentum > 0.0)
            {
                var buffer = _states[0];

                // torch.optim.SGD starts the buffer at the first gradient (no dampening).
                if (StepCount == 1)
                {
                    buffer.copy_(d);
                }
                else
                {
                    buffer.mul_(momentum).add_(d, FillValues.One);
                }

                d = o.Nesterov ? d.add(buffer, momentum) : buffer;
            }

            p.add_(d, step);
            return;
        }

        var m = _states[0];
        var v = _states[1];
        var grad = g;
        if (o.Algorithm == OptimizerAlgorithm.AdamW)
        {
            using var decay = (1.0 - (learningRate * o.WeightDecay)).ToScalar();
            p.mul_(decay);
        }
        else if (o.WeightDecay != 0.0)
        {
            grad = g.add(p, weightDecay);
        }

        using var beta1 = o.Beta1.ToScalar();
        using var rest1 = (1.0 - o.Beta1).ToScalar();
        using var beta2 = o.Beta2.ToScalar();
        using var rest2 = (1.0 - o.Beta2).ToScalar();
        m.mul_(beta1).add_(grad, rest1);
        v.mul_(beta2).addcmul_(grad, grad, rest2);
        var bias1 = 1.0 - Math.Pow(o.Beta1, StepCount);
        var bias2 = 1.0 - Math.Pow(o.Beta2, StepCount);
        using var biasRoot = Math.Sqrt(bias2).ToScalar();
        using var epsilon = o.Epsilon.ToScalar();
        using var stepSize = (-learningRate / bias1).ToScalar();
        var denominator = v.sqrt().div_(biasRoot).add_(epsilon);
        p.addcdiv_(m, denominator, stepSize);
    }

    public void ReadState<T>(int index, Span<T> destination)
        where T : unmanaged
    {
        CheckElement<T>();
        var state = State(index);
        if (destination.Length != state.numel())
        {
            throw new TorchArgumentException($"state holds {state.numel()} elements, caller passed {destination.Length}");
        }

        using var host = state.device_type == DeviceType.CPU ? state.alias() : state.cpu();
        host.bytes.CopyTo(MemoryMarshal.AsBytes(destination));
    }

    public void WriteState<T>(int index, ReadOnlySpan<T> source)
        where T : unmanaged
    {
        CheckElement<T>();
        var state = State(index);
        if (source.Length != state.numel())
        {
            throw new TorchArgumentException($"state holds {state.numel()} elements, caller passed {source.Length}");
        }

        using var host = empty(state.shape, state.dtype);
        MemoryMarshal.AsBytes(source).CopyTo(host.bytes);
        state.copy_(host);
    }

    public void Dispose()
    {
        foreach (var state in _states)
        {
            state.Dispose();
        }
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new TorchArgumentException(message);
        }
    }

    private Tensor State(int index) => index >= 0 && index < _states.Length
        ? _states[index]
        : throw new TorchArgumentException("optimizer state index out of range");

    private void CheckElement<T>()
        where T : unmanaged
    {
        var expected = Precision == Precision.Float64 ? typeof(double) : typeof(float);
        if (typeof(T) != expected)
        {
            throw new ArgumentException($"this optimizer's state is {Precision}; buffers must be {expected.Name}, not {typeof(T).Name}");
        }
    }
}
