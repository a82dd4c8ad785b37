using System.Runtime.InteropServices;

namespace RnnCluster.Torch;

/// <summary>Optimizer kinds implemented by the bridge over flat buffers.</summary>
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
/// update. Its state buffers (<see cref="StateNames"/>) share the parameter layout, so checkpoints
/// store them as flat tensors.
/// </summary>
public sealed unsafe class Optimizer : IDisposable
{
    private readonly OptimizerHandle _handle;

    public Optimizer(TorchModel model, OptimizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var config = new NativeOptimizerConfig
        {
            Kind = (int)options.Algorithm,
            Nesterov = options.Nesterov ? 1 : 0,
            Momentum = options.Momentum,
            WeightDecay = options.WeightDecay,
            Beta1 = options.Beta1,
            Beta2 = options.Beta2,
            Epsilon = options.Epsilon,
        };
        NativeCheck.Status(NativeMethods.rnn_optimizer_create(model.Handle, &config, out _handle));
        Options = options;
        Precision = model.Precision;
        StateLength = model.ParameterCount;
        NativeCheck.Status(NativeMethods.rnn_optimizer_state_count(_handle, out var count));
        var names = new string[count];
        var buffer = stackalloc byte[128];
        for (var i = 0; i < count; i++)
        {
            NativeCheck.Status(NativeMethods.rnn_optimizer_state_name(_handle, i, buffer, 128));
            names[i] = Marshal.PtrToStringUTF8((IntPtr)buffer) ?? string.Empty;
        }

        StateNames = names;
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
        get
        {
            NativeCheck.Status(NativeMethods.rnn_optimizer_get_step(_handle, out var step));
            return step;
        }

        set => NativeCheck.Status(NativeMethods.rnn_optimizer_set_step(_handle, value));
    }

    /// <summary>One update of <paramref name="model"/>'s parameters from its gradient buffer.</summary>
    public void Step(TorchModel model, double learningRate)
    {
        ArgumentNullException.ThrowIfNull(model);
        NativeCheck.Status(NativeMethods.rnn_optimizer_step(_handle, model.Handle, learningRate));
    }

    public void ReadState<T>(int index, Span<T> destination)
        where T : unmanaged
    {
        CheckElement<T>();
        fixed (T* p = destination)
        {
            NativeCheck.Status(NativeMethods.rnn_optimizer_read_state(_handle, index, p, destination.Length));
        }
    }

    public void WriteState<T>(int index, ReadOnlySpan<T> source)
        where T : unmanaged
    {
        CheckElement<T>();
        fixed (T* p = source)
        {
            NativeCheck.Status(NativeMethods.rnn_optimizer_write_state(_handle, index, p, source.Length));
        }
    }

    public void Dispose() => _handle.Dispose();

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
