using System.Runtime.InteropServices;
using RnnCluster.Model;

namespace RnnCluster.Torch;

/// <summary>
/// A model held by libtorch, of any kind: its parameters and gradients are each one flat buffer in the
/// layout of <see cref="Layout"/>, so copying, zeroing, clipping, optimizer steps, seeding and gradient
/// sums between replicas are the same for language models, acceptors, transducers and encoder–decoders.
/// Element type is float or double per <see cref="Precision"/>, and every buffer argument must match it.
/// Not thread-safe: one caller at a time.
/// </summary>
public abstract unsafe class TorchModel : IDisposable
{
    private const int BufferParams = 0;
    private const int BufferGrads = 1;

    private readonly ModelHandle _handle;

    private protected TorchModel(TorchModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        TorchRuntime.EnsureLoaded();
        var config = options.ToNative();
        NativeCheck.Status(NativeMethods.rnn_model_create(&config, out _handle));
        Precision = options.Precision;
        NativeCheck.Status(NativeMethods.rnn_model_param_count(_handle, out var count));
        ParameterCount = count;
        Layout = ReadLayout();
    }

    public Precision Precision { get; }

    /// <summary>Number of elements in the flat parameter (and gradient) buffer.</summary>
    public long ParameterCount { get; }

    /// <summary>Named slices of the flat buffer in PyTorch state_dict order (a tied decoder is not stored).</summary>
    public IReadOnlyList<ParameterSlice> Layout { get; }

    /// <summary>
    /// The flat parameter buffer itself (CPU float32 models only), for zero-copy reads and writes by the
    /// owner of this model. The span is valid until the model is disposed; do not keep it beyond that.
    /// </summary>
    public Span<float> ParameterSpan => BufferSpan(BufferParams);

    /// <summary>The flat gradient buffer itself (CPU float32 models only); same lifetime rule as <see cref="ParameterSpan"/>.</summary>
    public Span<float> GradientSpan => BufferSpan(BufferGrads);

    internal ModelHandle Handle => _handle;

    public void ReadParameters<T>(Span<T> destination)
        where T : unmanaged => Read(BufferParams, destination);

    public void WriteParameters<T>(ReadOnlySpan<T> source)
        where T : unmanaged => Write(BufferParams, source);

    public void ReadGradients<T>(Span<T> destination)
        where T : unmanaged => Read(BufferGrads, destination);

    public void WriteGradients<T>(ReadOnlySpan<T> source)
        where T : unmanaged => Write(BufferGrads, source);

    public void ZeroGradients() => NativeCheck.Status(NativeMethods.rnn_model_zero_grads(_handle));

    /// <summary>Returns the global L2 norm of the gradients and clips them to <paramref name="maxNorm"/> when it is positive.</summary>
    public double ClipGradientNorm(double maxNorm) => ScaleAndClipGradients(1.0, maxNorm);

    /// <summary>
    /// Multiplies the gradients by <paramref name="scale"/> (a sum into a mean) and clips the result to
    /// <paramref name="maxNorm"/> when positive, in one pass; returns the scaled norm before clipping.
    /// </summary>
    public double ScaleAndClipGradients(double scale, double maxNorm)
    {
        NativeCheck.Status(NativeMethods.rnn_model_clip_grad_norm(_handle, scale, maxNorm, out var norm));
        return norm;
    }

    /// <summary>Reseeds the model's private generator: dropout masks from here on depend only on <paramref name="seed"/>.</summary>
    public void Reseed(ulong seed) => NativeCheck.Status(NativeMethods.rnn_model_seed(_handle, seed));

    /// <summary>State of the model's private generator (initialisation and dropout masks).</summary>
    public byte[] GetRandomState()
    {
        NativeCheck.Status(NativeMethods.rnn_model_rng_state_size(_handle, out var size));
        var state = new byte[size];
        fixed (byte* p = state)
        {
            NativeCheck.Status(NativeMethods.rnn_model_get_rng_state(_handle, p, size));
        }

        return state;
    }

    public void SetRandomState(ReadOnlySpan<byte> state)
    {
        fixed (byte* p = state)
        {
            NativeCheck.Status(NativeMethods.rnn_model_set_rng_state(_handle, p, state.Length));
        }
    }

    /// <summary>
    /// Every parameter as a named tensor in <see cref="Layout"/> order (PyTorch state_dict names and shapes,
    /// F32 or F64 per <see cref="Precision"/>), e.g. for a safetensors file that <c>load_state_dict</c> takes.
    /// </summary>
    public IReadOnlyList<NamedTensor> ExportParameters()
    {
        var size = Precision == Precision.Float64 ? sizeof(double) : sizeof(float);
        var bytes = new byte[ParameterCount * size];
        fixed (byte* p = bytes)
        {
            NativeCheck.Status(NativeMethods.rnn_model_read(_handle, BufferParams, p, ParameterCount));
        }

        var dtype = Precision == Precision.Float64 ? TensorDType.F64 : TensorDType.F32;
        return Layout
            .Select(s => new NamedTensor(s.Name, dtype, s.Shape, bytes.AsMemory((int)(s.Offset * size), (int)(s.Count * size))))
            .ToArray();
    }

    public void Dispose()
    {
        _handle.Dispose();
        GC.SuppressFinalize(this);
    }

    private protected void CheckElement<T>()
        where T : unmanaged
    {
        var expected = Precision == Precision.Float64 ? typeof(double) : typeof(float);
        if (typeof(T) != expected)
        {
            throw new ArgumentException($"this model is {Precision}; buffers must be {expected.Name}, not {typeof(T).Name}");
        }
    }

    /// <summary>Refuses a span whose length is not <paramref name="expected"/> (or 0 when <paramref name="optional"/>) before native code reads it.</summary>
    private protected static void CheckLength(int length, long expected, string name, bool optional = false)
    {
        if (length != expected && !(optional && length == 0))
        {
            throw new ArgumentException($"{name} must hold {expected} elements{(optional ? " (or none)" : string.Empty)}, got {length}", name);
        }
    }

    private Span<float> BufferSpan(int buffer)
    {
        CheckElement<float>();
        NativeCheck.Status(NativeMethods.rnn_model_buffer_pointer(_handle, buffer, out var pointer));
        return new Span<float>((void*)pointer, checked((int)ParameterCount));
    }

    private void Read<T>(int buffer, Span<T> destination)
        where T : unmanaged
    {
        CheckElement<T>();
        fixed (T* p = destination)
        {
            NativeCheck.Status(NativeMethods.rnn_model_read(_handle, buffer, p, destination.Length));
        }
    }

    private void Write<T>(int buffer, ReadOnlySpan<T> source)
        where T : unmanaged
    {
        CheckElement<T>();
        fixed (T* p = source)
        {
            NativeCheck.Status(NativeMethods.rnn_model_write(_handle, buffer, p, source.Length));
        }
    }

    private ParameterSlice[] ReadLayout()
    {
        NativeCheck.Status(NativeMethods.rnn_model_tensor_count(_handle, out var count));
        var slices = new ParameterSlice[count];
        var name = stackalloc byte[256];
        var shape = stackalloc long[4];
        for (var i = 0; i < count; i++)
        {
            NativeCheck.Status(NativeMethods.rnn_model_tensor_info(_handle, i, name, 256, out var offset, out var numel, out var ndim, shape));
            slices[i] = new ParameterSlice(
                Marshal.PtrToStringUTF8((IntPtr)name) ?? string.Empty,
                offset,
                numel,
                new ReadOnlySpan<long>(shape, ndim).ToArray());
        }

        return slices;
    }
}
