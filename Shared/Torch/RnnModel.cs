using System.Runtime.InteropServices;
using System.Text;
using RnnCluster.Model;

namespace RnnCluster.Torch;

/// <summary>
/// A recurrent language model held by libtorch: embedding, stacked recurrent layers, linear decoder.
/// Parameters and gradients are each one flat buffer in the layout of <see cref="Layout"/>;
/// element type is float or double per <see cref="Precision"/>, and every buffer argument must match it.
/// Not thread-safe: one caller at a time (a worker actor owns its replica).
/// </summary>
public sealed unsafe class RnnModel : IDisposable
{
    private const int BufferParams = 0;
    private const int BufferGrads = 1;

    private readonly ModelHandle _handle;

    public RnnModel(ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        TorchRuntime.EnsureLoaded();
        var a = options.Architecture;
        if (a.TieWeights && a.EmbeddingSize != a.HiddenSize)
        {
            throw new TorchArgumentException($"tied weights need embedding-size == hidden-size, got {a.EmbeddingSize} and {a.HiddenSize}");
        }

        var config = new NativeModelConfig
        {
            Cell = (int)a.Cell,
            Layers = a.Layers,
            VocabSize = a.VocabularySize,
            EmbeddingSize = a.EmbeddingSize,
            HiddenSize = a.HiddenSize,
            TieWeights = a.TieWeights ? 1 : 0,
            DType = (int)options.Precision,
            DeviceType = options.Device.IsCuda ? 1 : 0,
            DeviceIndex = options.Device.Index,
            DropoutEmbedding = options.DropoutEmbedding,
            DropoutBetweenLayers = options.DropoutBetweenLayers,
            DropoutOutput = options.DropoutOutput,
            ForgetBias = options.ForgetBias,
            InitRange = options.InitRange,
            Seed = options.Seed,
        };
        NativeCheck.Status(NativeMethods.rnn_model_create(&config, out _handle));
        Options = options;
        NativeCheck.Status(NativeMethods.rnn_model_param_count(_handle, out var count));
        ParameterCount = count;
        NativeCheck.Status(NativeMethods.rnn_model_state_size(_handle, out var stateSize));
        StateSizePerStream = checked((int)stateSize);
        Layout = ReadLayout();
    }

    public ModelOptions Options { get; }

    public ModelArchitecture Architecture => Options.Architecture;

    public Precision Precision => Options.Precision;

    /// <summary>Number of elements in the flat parameter (and gradient) buffer.</summary>
    public long ParameterCount { get; }

    /// <summary>Elements of recurrent state per stream: (2 for LSTM, else 1) × layers × hidden size.</summary>
    public int StateSizePerStream { get; }

    /// <summary>Named slices of the flat buffer in PyTorch state_dict order (a tied decoder is not stored).</summary>
    public IReadOnlyList<ParameterSlice> Layout { get; }

    /// <summary>
    /// Forward (and, when <paramref name="backward"/>, backward) over one time-major window
    /// <c>[steps, streams]</c>. Gradients of the loss SUM are added to the gradient buffer.
    /// An empty <paramref name="stateIn"/> starts every stream from zeros.
    /// </summary>
    public WindowResult ForwardBackward<T>(
        ReadOnlySpan<long> inputs,
        ReadOnlySpan<long> targets,
        int steps,
        int streams,
        ReadOnlySpan<T> stateIn,
        Span<T> stateOut,
        bool train,
        bool backward,
        bool wantCorrect = false)
        where T : unmanaged
    {
        CheckElement<T>();
        CheckWindow(inputs.Length, steps, streams, "inputs");
        CheckWindow(targets.Length, steps, streams, "targets");
        CheckState(stateIn.Length, streams, allowEmpty: true, "stateIn");
        CheckState(stateOut.Length, streams, allowEmpty: true, "stateOut");
        NativeWindowResult result;
        fixed (long* pIn = inputs)
        fixed (long* pTg = targets)
        fixed (T* pSi = stateIn)
        fixed (T* pSo = stateOut)
        {
            NativeCheck.Status(NativeMethods.rnn_model_forward_backward(
                _handle, pIn, pTg, steps, streams, stateIn.IsEmpty ? null : pSi, stateOut.IsEmpty ? null : pSo,
                train ? 1 : 0, backward ? 1 : 0, wantCorrect ? 1 : 0, &result));
        }

        return new WindowResult(result.LossSum, result.Tokens, result.Correct);
    }

    /// <summary>Logits <c>[streams, vocab]</c> of the last step of a window (no dropout), for sampling and beam search.</summary>
    public void LastLogits<T>(ReadOnlySpan<long> inputs, int steps, int streams, ReadOnlySpan<T> stateIn, Span<T> stateOut, Span<T> logits)
        where T : unmanaged
    {
        CheckElement<T>();
        CheckWindow(inputs.Length, steps, streams, "inputs");
        CheckState(stateIn.Length, streams, allowEmpty: true, "stateIn");
        CheckState(stateOut.Length, streams, allowEmpty: true, "stateOut");
        if (logits.Length != (long)streams * Architecture.VocabularySize)
        {
            throw new ArgumentException($"logits needs {streams} x {Architecture.VocabularySize} elements, got {logits.Length}", nameof(logits));
        }

        fixed (long* pIn = inputs)
        fixed (T* pSi = stateIn)
        fixed (T* pSo = stateOut)
        fixed (T* pL = logits)
        {
            NativeCheck.Status(NativeMethods.rnn_model_last_logits(
                _handle, pIn, steps, streams, stateIn.IsEmpty ? null : pSi, stateOut.IsEmpty ? null : pSo, pL));
        }
    }

    public void ReadParameters<T>(Span<T> destination)
        where T : unmanaged => Read(BufferParams, destination);

    public void WriteParameters<T>(ReadOnlySpan<T> source)
        where T : unmanaged => Write(BufferParams, source);

    public void ReadGradients<T>(Span<T> destination)
        where T : unmanaged => Read(BufferGrads, destination);

    public void WriteGradients<T>(ReadOnlySpan<T> source)
        where T : unmanaged => Write(BufferGrads, source);

    /// <summary>
    /// The flat parameter buffer itself (CPU float32 models only), for zero-copy reads and writes by the
    /// owner of this model. The span is valid until the model is disposed; do not keep it beyond that.
    /// </summary>
    public Span<float> ParameterSpan => BufferSpan(BufferParams);

    /// <summary>The flat gradient buffer itself (CPU float32 models only); same lifetime rule as <see cref="ParameterSpan"/>.</summary>
    public Span<float> GradientSpan => BufferSpan(BufferGrads);

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

    internal ModelHandle Handle => _handle;

    public void Dispose() => _handle.Dispose();

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

    private void CheckElement<T>()
        where T : unmanaged
    {
        var expected = Precision == Precision.Float64 ? typeof(double) : typeof(float);
        if (typeof(T) != expected)
        {
            throw new ArgumentException($"this model is {Precision}; buffers must be {expected.Name}, not {typeof(T).Name}");
        }
    }

    private static void CheckWindow(int length, int steps, int streams, string name)
    {
        if (steps < 1 || streams < 1 || length != (long)steps * streams)
        {
            throw new ArgumentException($"{name} must hold steps x streams = {steps} x {streams} ids, got {length}", name);
        }
    }

    private void CheckState(int length, int streams, bool allowEmpty, string name)
    {
        if (allowEmpty && length == 0)
        {
            return;
        }

        if (length != (long)streams * StateSizePerStream)
        {
            throw new ArgumentException($"{name} must hold streams x {StateSizePerStream} elements, got {length}", name);
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
