using System.Runtime.InteropServices;
using RnnCluster.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace RnnCluster.Torch;

/// <summary>
/// A model on TorchSharp, of any kind: its parameters and gradients are each one flat buffer in the
/// layout of <see cref="Layout"/>, and every parameter is a view of its slice (the recurrent modules'
/// own tensors are re-pointed there), so autograd accumulates straight into the flat gradient buffer and
/// copying, zeroing, clipping, optimizer steps, seeding and gradient sums between replicas touch one
/// span with no per-parameter copies, whatever the kind. Element type is float or double per
/// <see cref="Precision"/>, and every buffer argument must match it. Not thread-safe: one caller at a time.
/// </summary>
public abstract class TorchModel : IDisposable
{
    private readonly List<Entry> _entries = [];
    private readonly List<RecurrentCell> _cells = [];
    private Tensor? _flat;
    private Tensor? _flatGrad;
    private float[]? _parameterArray;
    private float[]? _gradientArray;
    private RecurrentStack[] _stacks = [];
    private IReadOnlyList<GradientSegment>? _gradientSegments;
    private bool _disposed;

    private protected TorchModel(TorchModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        TorchRuntime.EnsureLoaded();
        Options = options;
        Precision = options.Precision;
        DType = options.Precision == Precision.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        Device = ResolveDevice(options.Device);
        ComputeType = options.ComputeType;
        Generator = new Generator(options.Seed, Device);
    }

    public Precision Precision { get; }

    /// <summary>Number of elements in the flat parameter (and gradient) buffer.</summary>
    public long ParameterCount { get; private set; }

    /// <summary>Named slices of the flat buffer in PyTorch state_dict order (a tied decoder is not stored).</summary>
    public IReadOnlyList<ParameterSlice> Layout { get; private set; } = [];

    /// <summary>
    /// The flat parameter buffer itself (CPU float32 models only), for zero-copy reads and writes by the
    /// owner of this model. The span is valid until the model is disposed; do not keep it beyond that.
    /// </summary>
    public Span<float> ParameterSpan => _parameterArray ?? throw NoSpan();

    /// <summary>The flat gradient buffer itself (CPU float32 models only); same lifetime rule as <see cref="ParameterSpan"/>.</summary>
    public Span<float> GradientSpan => _gradientArray ?? throw NoSpan();

    /// <summary>
    /// The managed array the gradient buffer lives in (CPU float32 models), for handing a step's
    /// gradients on without a copy; its contents change at the next <see cref="ZeroGradients"/>.
    /// Null for other models.
    /// </summary>
    public float[]? GradientArray => _gradientArray;

    /// <summary>
    /// Told during every backward which ranges of the gradient buffer are final (see <see cref="IGradientReadySink"/>),
    /// for overlapping the gradients' all-reduce with backward. Null (the default): no taps, no reports, no cost.
    /// </summary>
    public IGradientReadySink? GradientSink { get; set; }

    /// <summary>
    /// The ranges a <see cref="GradientSink"/> is told about, in the order they are reported: the ones whose
    /// gradients become final during backward first (a language model's decoder, in blocks of rows when
    /// untied, then its recurrent layers top-down), then the rest. They tile the gradient buffer exactly once. A model without layer taps has
    /// one segment, the whole buffer, reported when backward returns.
    /// </summary>
    public IReadOnlyList<GradientSegment> GradientSegments => _gradientSegments ??= [new GradientSegment("all", 0, ParameterCount)];

    /// <summary>The managed array the parameter buffer lives in (CPU float32 models), else null.</summary>
    public float[]? ParameterArray => _parameterArray;

    /// <summary>
    /// Makes <paramref name="parameters"/> this model's parameter buffer, shared, not copied (CPU float32
    /// models): every parameter becomes a view of it. Used by replicas that only read parameters, so a
    /// coordinator's buffer reaches them with no copy. A no-op when it already is the buffer.
    /// The caller must not change the array while this model computes with it.
    /// </summary>
    public void AdoptParameters(float[] parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (ReferenceEquals(parameters, _parameterArray))
        {
            return;
        }

        if (_parameterArray is null)
        {
            throw new InvalidOperationException("only CPU float32 models can share a parameter array");
        }

        CheckLength(parameters.Length, ParameterCount, nameof(parameters));
        var old = Flat;
        using (var scope = NewDisposeScope())
        {
            _flat = from_array(parameters).DetachFromDisposeScope();
            _parameterArray = parameters;
            using (no_grad())
            {
                foreach (var e in _entries)
                {
                    e.Tensor!.set_(_flat.narrow(0, e.Offset, e.Count).view(e.Shape));
                }
            }

            foreach (var stack in _stacks)
            {
                stack.Bind();
            }
        }

        old.Dispose();
    }

    private protected TorchModelOptions Options { get; }

    private protected ScalarType DType { get; }

    /// <summary>Element type of the matrix products: <see cref="DType"/>, or bfloat16 in mixed precision.</summary>
    private protected ScalarType ComputeType { get; }

    private protected Device Device { get; }

    private protected Generator Generator { get; }

    /// <summary>
    /// Autograd on for a backward pass, and also for any forward of a model with LSTM layers: without it
    /// libtorch 2.10 runs oneDNN's fp32 LSTM <i>inference</i> kernel, which is less exact (measured: a 2x16
    /// LM's loss 2e-4 relative away from the float64 and training kernels, which agree to 1e-8), and an
    /// evaluation must give the loss that the same weights give in PyTorch and in training. The graph is
    /// freed with the call's dispose scope.
    /// </summary>
    private protected IDisposable GradientMode(bool backward) => backward || HasLstm ? enable_grad() : no_grad();

    private bool HasLstm { get; set; }

    /// <summary>The flat parameter buffer as a tensor (the optimizer updates it in place).</summary>
    internal Tensor Flat => _flat ?? throw new InvalidOperationException("the model is not built");

    internal Tensor FlatGrad => _flatGrad ?? throw new InvalidOperationException("the model is not built");

    public void ReadParameters<T>(Span<T> destination)
        where T : unmanaged => Read(Flat, destination);

    public void WriteParameters<T>(ReadOnlySpan<T> source)
        where T : unmanaged => Write(Flat, source);

    public void ReadGradients<T>(Span<T> destination)
        where T : unmanaged => Read(FlatGrad, destination);

    public void WriteGradients<T>(ReadOnlySpan<T> source)
        where T : unmanaged => Write(FlatGrad, source);

    // fill_, not zero_: TorchSharp 0.107's zero_ returns a new handle each call (a leaked tensor per step).
    public void ZeroGradients()
    {
        FlatGrad.fill_(FillValues.Zero);
        foreach (var stack in _stacks)
        {
            stack.ClearLowPrecisionGradients();
        }
    }

    /// <summary>Returns the global L2 norm of the gradients and clips them to <paramref name="maxNorm"/> when it is positive.</summary>
    public double ClipGradientNorm(double maxNorm) => ScaleAndClipGradients(1.0, maxNorm);

    /// <summary>
    /// Multiplies the gradients by <paramref name="scale"/> (a sum into a mean) and clips the result to
    /// <paramref name="maxNorm"/> when positive, in one pass; returns the scaled norm before clipping.
    /// </summary>
    public double ScaleAndClipGradients(double scale, double maxNorm)
    {
        if (!(scale > 0.0) || !double.IsFinite(scale))
        {
            throw new TorchArgumentException($"scale must be a positive finite number, got {scale}");
        }

        using var scope = NewDisposeScope();
        var norm = FillValues.ValueOf(FlatGrad.norm()) * scale;

        // Same rule as torch.nn.utils.clip_grad_norm_ on the scaled gradient: multiply by
        // max/(norm+1e-6) only when that shrinks it. One pass applies scale and clip together.
        var factor = scale;
        if (maxNorm > 0.0 && double.IsFinite(norm))
        {
            var coefficient = maxNorm / (norm + 1e-6);
            if (coefficient < 1.0)
            {
                factor *= coefficient;
            }
        }

        if (factor != 1.0)
        {
            using var by = factor.ToScalar();
            FlatGrad.mul_(by);
        }

        return norm;
    }

    /// <summary>Reseeds the model's private generator: dropout masks from here on depend only on <paramref name="seed"/>.</summary>
    public void Reseed(ulong seed) => Generator.manual_seed(unchecked((long)seed));

    /// <summary>State of the model's private generator (initialisation and dropout masks).</summary>
    public byte[] GetRandomState()
    {
        using var state = Generator.get_state();
        using var cpu = state.cpu().contiguous();
        return cpu.bytes.ToArray();
    }

    public void SetRandomState(ReadOnlySpan<byte> state)
    {
        var expected = GetRandomState().Length;
        if (state.Length != expected)
        {
            throw new TorchArgumentException($"rng state must have {expected} bytes, got {state.Length}");
        }

        using var tensor = torch.tensor(state.ToArray(), dtype: ScalarType.Byte);
        Generator.set_state(tensor);
    }

    /// <summary>
    /// Every parameter as a named tensor in <see cref="Layout"/> order (PyTorch state_dict names and shapes,
    /// F32 or F64 per <see cref="Precision"/>), e.g. for a safetensors file that <c>load_state_dict</c> takes.
    /// </summary>
    public IReadOnlyList<NamedTensor> ExportParameters()
    {
        var size = Precision == Precision.Float64 ? sizeof(double) : sizeof(float);
        var bytes = new byte[ParameterCount * size];
        CopyOut(Flat, bytes);
        var dtype = Precision == Precision.Float64 ? TensorDType.F64 : TensorDType.F32;
        return Layout
            .Select(s => new NamedTensor(s.Name, dtype, s.Shape, bytes.AsMemory((int)(s.Offset * size), (int)(s.Count * size))))
            .ToArray();
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (_disposed || !disposing)
        {
            return;
        }

        _disposed = true;
        foreach (var cell in _cells)
        {
            cell.Dispose();
        }

        foreach (var entry in _entries)
        {
            entry.Tensor?.Dispose();
        }

        _flat?.Dispose();
        _flatGrad?.Dispose();
        Generator.Dispose();
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

    /// <summary>Refuses a span whose length is not <paramref name="expected"/> (or 0 when <paramref name="optional"/>) before it is read.</summary>
    private protected static void CheckLength(int length, long expected, string name, bool optional = false)
    {
        if (length != expected && !(optional && length == 0))
        {
            throw new ArgumentException($"{name} must hold {expected} elements{(optional ? " (or none)" : string.Empty)}, got {length}", name);
        }
    }

    /// <summary>Refuses ids outside [low, high), naming the extremes.</summary>
    private protected static void CheckRange(ReadOnlySpan<long> ids, long low, long high, string what)
    {
        if (ids.IsEmpty)
        {
            return;
        }

        long min = long.MaxValue, max = long.MinValue;
        foreach (var id in ids)
        {
            min = Math.Min(min, id);
            max = Math.Max(max, id);
        }

        if (min < low || max >= high)
        {
            throw new TorchArgumentException($"{what} out of range [{low}, {high}): min {min}, max {max}");
        }
    }

    /// <summary>Registers one parameter; registration order is the layout, the state_dict order and the order of initial draws.</summary>
    private protected void AddEntry(string name, long[] shape, InitRule init) => _entries.Add(new Entry(name, shape, init));

    /// <summary>Registers an <c>nn.Linear</c>'s weight and bias with its default bound 1/sqrt(in).</summary>
    private protected void AddLinear(string prefix, long inputs, long outputs)
    {
        var rule = new InitRule(1.0 / Math.Sqrt(inputs));
        AddEntry(prefix + "weight", [outputs, inputs], rule);
        AddEntry(prefix + "bias", [outputs], rule);
    }

    /// <summary>
    /// Registers a stacked recurrent network's tensors in PyTorch's order (per layer, per direction:
    /// w_ih, w_hh, b_ih, b_hh) and returns it, to be bound by <see cref="Build"/>.
    /// </summary>
    private protected RecurrentStack AddStack(string prefix, CellKind cell, int layers, long inputSize, long hiddenSize, int directions)
    {
        var gates = cell switch
        {
            CellKind.Lstm => 4,
            CellKind.Gru => 3,
            _ => 1,
        };

        // PyTorch's nn.RNN family default: uniform(-1/sqrt(H), 1/sqrt(H)) for every weight and bias;
        // for LSTM the forget-gate slice (gate order i, f, g, o) of b_ih starts at the configured bias and
        // that of b_hh at 0: a forget bias near 1 lets gradients flow early in training.
        var k = 1.0 / Math.Sqrt(hiddenSize);
        var lstm = cell == CellKind.Lstm;
        HasLstm |= lstm;
        var cells = new RecurrentCell[layers, directions];
        for (var l = 0; l < layers; l++)
        {
            var input = l == 0 ? inputSize : directions * hiddenSize;
            for (var d = 0; d < directions; d++)
            {
                var suffix = $"{l}{(d == 1 ? "_reverse" : string.Empty)}";
                AddEntry($"{prefix}weight_ih_l{suffix}", [gates * hiddenSize, input], new InitRule(k));
                AddEntry($"{prefix}weight_hh_l{suffix}", [gates * hiddenSize, hiddenSize], new InitRule(k));
                AddEntry($"{prefix}bias_ih_l{suffix}", [gates * hiddenSize], new InitRule(k, lstm ? ForgetSlice.InputBias : ForgetSlice.None));
                AddEntry($"{prefix}bias_hh_l{suffix}", [gates * hiddenSize], new InitRule(k, lstm ? ForgetSlice.HiddenBias : ForgetSlice.None));
                // bf16 compute: the recurrent kernels too (oneDNN's AMX path), over the fp32 master weights.
                var recurrent = new RecurrentCell(cell, input, hiddenSize, ComputeType, Device, DType);
                _cells.Add(recurrent);
                cells[l, d] = recurrent;
            }
        }

        return new RecurrentStack(prefix, cell, hiddenSize, cells, this);
    }

    /// <summary>
    /// Allocates the flat buffers, makes every registered parameter a view of its slice (leaf, gradient in
    /// the flat gradient buffer), binds the stacks' modules to their slices and draws the initial values.
    /// </summary>
    private protected void Build(params RecurrentStack[] stacks)
    {
        _stacks = stacks;
        long offset = 0;
        var slices = new List<ParameterSlice>(_entries.Count);
        foreach (var e in _entries)
        {
            e.Offset = offset;
            e.Count = e.Shape.Aggregate(1L, (a, b) => a * b);
            slices.Add(new ParameterSlice(e.Name, e.Offset, e.Count, e.Shape));
            offset += e.Count;
        }

        ParameterCount = offset;
        Layout = slices;
        using (var scope = NewDisposeScope())
        {
            // CPU float32 buffers live in managed arrays that the tensors share (pinned while they live),
            // so a replica can hand its gradients on, or read another model's parameters, with no copy.
            if (DType == ScalarType.Float32 && Device.type == DeviceType.CPU)
            {
                _parameterArray = new float[offset];
                _gradientArray = new float[offset];
                _flat = from_array(_parameterArray).DetachFromDisposeScope();
                _flatGrad = from_array(_gradientArray).DetachFromDisposeScope();
            }
            else
            {
                _flat = zeros(offset, DType, Device).DetachFromDisposeScope();
                _flatGrad = zeros(offset, DType, Device).DetachFromDisposeScope();
            }

            using (no_grad())
            {
                foreach (var e in _entries)
                {
                    // detach(): a leaf sharing the flat storage; its grad is the matching slice of the
                    // flat gradient buffer, so AccumulateGrad adds in place there.
                    var leaf = _flat.narrow(0, e.Offset, e.Count).view(e.Shape).detach().requires_grad_(true);
                    leaf.grad = _flatGrad.narrow(0, e.Offset, e.Count).view(e.Shape);
                    e.Tensor = leaf.DetachFromDisposeScope();
                }
            }

            foreach (var stack in stacks)
            {
                stack.Bind();
            }

            Initialise();
        }
    }

    /// <summary>
    /// Backward from <paramref name="loss"/> into the flat gradient buffer (low-precision cells flush theirs
    /// into it), then the sink hears of every segment the taps of <paramref name="taps"/> did not report
    /// (all of them for a model that sets no taps).
    /// </summary>
    private protected void Backward(Tensor loss, GradientTapPass? taps = null)
    {
        taps ??= BeginGradientTaps();
        loss.backward();
        foreach (var stack in _stacks)
        {
            stack.FlushGradients();
        }

        taps?.Finish();
    }

    /// <summary>A pass reporting to <see cref="GradientSink"/>, or null when none is set (then no taps are built).</summary>
    private protected GradientTapPass? BeginGradientTaps() => GradientSink is { } sink ? new GradientTapPass(GradientSegments, sink) : null;

    /// <summary>Sets the model's segments in report order (after <see cref="Build"/>), refusing any that do not tile the buffer once.</summary>
    private protected void SetGradientSegments(IReadOnlyList<GradientSegment> segments)
    {
        GradientTapPass.CheckTiling(segments, ParameterCount);
        _gradientSegments = segments;
    }

    /// <summary>The registered parameter's slice of the flat buffers.</summary>
    private protected ParameterSlice Slice(string name) => Layout.First(s => s.Name == name);

    /// <summary>The leaf tensor of a registered parameter.</summary>
    private protected Tensor Parameter(string name)
        => _entries.FirstOrDefault(e => e.Name == name)?.Tensor ?? throw new InvalidOperationException($"no parameter named {name}");

    /// <summary>Views of a parameter's slices of the flat buffers (for binding a module's own tensors).</summary>
    internal (Tensor Value, Tensor Grad) Views(string name)
    {
        var e = _entries.First(x => x.Name == name);
        return (Flat.narrow(0, e.Offset, e.Count).view(e.Shape), FlatGrad.narrow(0, e.Offset, e.Count).view(e.Shape));
    }

    /// <summary>A view of a parameter's slice of the flat gradient buffer only (what a custom backward writes into).</summary>
    internal Tensor GradView(string name)
    {
        var e = _entries.First(x => x.Name == name);
        return FlatGrad.narrow(0, e.Offset, e.Count).view(e.Shape);
    }

    /// <summary>Inverted dropout with a mask from the model's generator (replicas stay independent, checkpoints restore the stream).</summary>
    internal Tensor Dropout(Tensor x, double p, bool train)
    {
        if (!train || p <= 0.0)
        {
            return x;
        }

        // The generator is a CPU one (TorchSharp 0.107 cannot make a CUDA generator), so masks are drawn
        // on the CPU and moved: the same masks on every device.
        using var keep = (1.0 - p).ToScalar();
        using var mask = empty(x.shape, x.dtype).bernoulli_(1.0 - p, Generator).div_(keep);
        return Device.type == DeviceType.CPU ? x * mask : x * mask.to(Device);
    }

    /// <summary>Rows of <paramref name="weight"/> for ids of any shape: <c>[..., E]</c>.</summary>
    private protected static Tensor Embed(Tensor weight, Tensor ids)
    {
        var shape = ids.shape.Append(weight.shape[1]).ToArray();
        return weight.index_select(0, ids.reshape(-1)).view(shape);
    }

    /// <summary>A linear layer in <see cref="ComputeType"/> (bf16 matrix products in mixed precision), result in the model's type.</summary>
    private protected Tensor Linear(Tensor x, Tensor weight, Tensor bias)
    {
        if (ComputeType == DType)
        {
            return nn.functional.linear(x, weight, bias);
        }

        return nn.functional.linear(x.to(ComputeType), weight.to(ComputeType), bias.to(ComputeType)).to(DType);
    }

    /// <summary>Ids from a host span onto the model's device as a <c>[rows, columns]</c> int64 tensor.</summary>
    private protected Tensor Ids(ReadOnlySpan<long> ids, long rows, long columns)
    {
        var t = torch.tensor(ids.ToArray(), [rows, columns], ScalarType.Int64);
        return Device.type == DeviceType.CPU ? t : t.to(Device);
    }

    /// <summary>Copies a device tensor's elements into a host span of the same element type.</summary>
    private protected static void CopyOut<T>(Tensor source, Span<T> destination)
        where T : unmanaged
    {
        using var host = source.device_type == DeviceType.CPU ? source.contiguous() : source.cpu().contiguous();
        host.bytes.CopyTo(MemoryMarshal.AsBytes(destination));
    }

    private static Device ResolveDevice(TorchDevice device)
    {
        if (!device.IsCuda)
        {
            return CPU;
        }

        if (!torch.cuda.is_available())
        {
            throw new TorchDeviceException(
                $"device 'cuda:{device.Index}' requested, but the loaded libtorch has no usable CUDA ({TorchRuntime.BuildInfo}); "
                + $"set {TorchRuntime.LibTorchDirVariable} to the torch/lib folder of a CUDA PyTorch 2.10 install, or use runtime.device = \"cpu\"");
        }

        if (device.Index >= torch.cuda.device_count())
        {
            throw new TorchDeviceException($"device 'cuda:{device.Index}' requested, but only {torch.cuda.device_count()} CUDA device(s) exist");
        }

        return new Device(DeviceType.CUDA, device.Index);
    }

    // Only CPU float32 buffers live in managed arrays (Build); others have no span to lend.
    private static InvalidOperationException NoSpan() => new("direct buffer spans exist only for CPU float32 models");

    private void Read<T>(Tensor buffer, Span<T> destination)
        where T : unmanaged
    {
        CheckElement<T>();
        CheckLength(destination.Length, ParameterCount, nameof(destination));
        CopyOut(buffer, destination);
    }

    private void Write<T>(Tensor buffer, ReadOnlySpan<T> source)
        where T : unmanaged
    {
        CheckElement<T>();
        CheckLength(source.Length, ParameterCount, nameof(source));
        var bytes = MemoryMarshal.AsBytes(source);
        if (buffer.device_type == DeviceType.CPU)
        {
            bytes.CopyTo(buffer.bytes);
            return;
        }

        using var host = torch.empty(buffer.shape, buffer.dtype);
        bytes.CopyTo(host.bytes);
        using (no_grad())
        {
            buffer.copy_(host);
        }
    }

    private void Initialise()
    {
        using var noGrad = no_grad();

        // Every draw comes from the model's generator in layout order, so a seed fixes every parameter.
        // Drawn on the CPU (the generator is a CPU one) and copied to the device afterwards.
        var forgetBias = Options.ForgetBias;
        using var host = Device.type == DeviceType.CPU ? Flat.alias() : empty(Flat.shape, DType);
        foreach (var e in _entries)
        {
            var slice = host.narrow(0, e.Offset, e.Count);
            if (e.Init.Bound > 0.0)
            {
                slice.uniform_(-e.Init.Bound, e.Init.Bound, Generator);
            }
            else
            {
                slice.fill_(FillValues.Zero);
            }

            var hidden = e.Shape[0] / 4;
            if (e.Init.Forget == ForgetSlice.InputBias)
            {
                using var bias = forgetBias.ToScalar();
                slice.narrow(0, hidden, hidden).fill_(bias);
            }
            else if (e.Init.Forget == ForgetSlice.HiddenBias)
            {
                slice.narrow(0, hidden, hidden).fill_(FillValues.Zero);
            }
        }

        if (Device.type != DeviceType.CPU)
        {
            Flat.copy_(host);
        }
    }

    /// <summary>Which part of an LSTM bias starts at a fixed value.</summary>
    private protected enum ForgetSlice
    {
        None,
        InputBias,
        HiddenBias,
    }

    /// <summary>How a parameter starts: uniform(-bound, bound) from the model's generator (bound 0 = zeros), then the forget slice.</summary>
    private protected readonly record struct InitRule(double Bound, ForgetSlice Forget = ForgetSlice.None);

    private sealed class Entry(string name, long[] shape, InitRule init)
    {
        public string Name { get; } = name;

        public long[] Shape { get; } = shape;

        public InitRule Init { get; } = init;

        public long Offset { get; set; }

        public long Count { get; set; }

        public Tensor? Tensor { get; set; }
    }
}
