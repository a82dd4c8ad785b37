using RnnCluster.Model;
using TorchSharp;
using static TorchSharp.torch;
using PackedSequence = TorchSharp.torch.nn.utils.rnn.PackedSequence;

namespace RnnCluster.Torch;

/// <summary>
/// One layer, one direction of a recurrent network: a one-layer, unidirectional TorchSharp module
/// (<c>nn.LSTM</c>, <c>nn.GRU</c> or <c>nn.RNN</c>, so libtorch's fused kernels run it — oneDNN for
/// LSTM on CPU) whose four tensors are re-pointed into the model's flat buffers. A stack runs one of
/// these per layer and direction, so dropout between layers draws from the model's own generator.
/// </summary>
internal sealed class RecurrentCell : IDisposable
{
    private static readonly string[] Names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"];

    private readonly nn.Module _module;
    private readonly CellKind _cell;
    private (Tensor Own, Tensor Master, Tensor MasterGrad)[] _lowPrecision = [];

    /// <summary>
    /// A cell of <paramref name="dtype"/>. When <paramref name="masterType"/> differs (bf16 compute over
    /// fp32 master weights), the module keeps its own low-precision tensors: <see cref="Refresh"/> copies
    /// the master weights in before a forward, <see cref="FlushGradients"/> adds the gradients back after
    /// a backward — the native kernels then run in bf16 (oneDNN's AMX path), the optimizer in fp32.
    /// </summary>
    public RecurrentCell(CellKind cell, long inputSize, long hiddenSize, ScalarType dtype, Device device, ScalarType masterType)
    {
        _cell = cell;
        Type = dtype;
        IsLowPrecision = dtype != masterType;
        _module = cell switch
        {
            CellKind.Lstm => nn.LSTM(inputSize, hiddenSize, device: device, dtype: dtype),
            CellKind.Gru => nn.GRU(inputSize, hiddenSize, device: device, dtype: dtype),
            CellKind.RnnTanh => nn.RNN(inputSize, hiddenSize, nonLinearity: nn.NonLinearities.Tanh, device: device, dtype: dtype),
            CellKind.RnnRelu => nn.RNN(inputSize, hiddenSize, nonLinearity: nn.NonLinearities.ReLU, device: device, dtype: dtype),
            _ => throw new TorchArgumentException($"unknown cell kind {cell}"),
        };
    }

    /// <summary>
    /// Makes the module's <c>weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0</c> the given views of the
    /// flat parameter buffer, with gradients accumulating into the matching views of the flat gradient buffer.
    /// </summary>
    public void Bind(IReadOnlyList<(Tensor Value, Tensor Grad)> views)
    {
        using var noGrad = no_grad();
        // The module hands out the same Parameter objects every time: keep them out of any caller's scope.
        var parameters = _module.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter.DetachFromDisposeScope());
        if (IsLowPrecision)
        {
            // Kept across calls, so out of the caller's dispose scope (and the previous binding freed;
            // the module's own tensors are the module's: named_parameters hands out the same objects).
            ReleaseMasterViews();

            _lowPrecision = Names
                .Select((name, i) => (parameters[name], views[i].Value.DetachFromDisposeScope(), views[i].Grad.DetachFromDisposeScope()))
                .ToArray();
            return;
        }

        for (var i = 0; i < Names.Length; i++)
        {
            var p = parameters[Names[i]];
            // set_ keeps the TensorImpl the native module holds, so its kernels read the flat buffer.
            p.set_(views[i].Value);
            p.grad = views[i].Grad;
        }
    }

    /// <summary>Element type the kernels run in.</summary>
    public ScalarType Type { get; }

    /// <summary>The module computes in its own low-precision copies of the master weights.</summary>
    public bool IsLowPrecision { get; }

    /// <summary>Copies the master weights into the module's low-precision tensors (before a forward).</summary>
    public void Refresh()
    {
        using var noGrad = no_grad();
        foreach (var (own, master, _) in _lowPrecision)
        {
            own.copy_(master);
        }
    }

    /// <summary>Drops the module's low-precision gradients.</summary>
    public void ClearGradients()
    {
        foreach (var (own, _, _) in _lowPrecision)
        {
            using var grad = own.grad;
            grad?.fill_(FillValues.Zero);
        }
    }

    /// <summary>Adds the module's low-precision gradients into the master gradient buffer and clears them (after a backward).</summary>
    public void FlushGradients()
    {
        using var noGrad = no_grad();
        foreach (var (own, _, masterGrad) in _lowPrecision)
        {
            using var grad = own.grad;
            if (grad is not null)
            {
                masterGrad.add_(grad, FillValues.One);
                grad.fill_(FillValues.Zero);
            }
        }
    }

    /// <summary>Kernel mode: the module's dropout is 0, so this only makes the kernels keep what backward needs.</summary>
    public void SetTraining(bool training)
    {
        if (_module.training != training)
        {
            _module.train(training);
        }
    }

    /// <summary>Time-major <c>[T, B, In]</c> → output <c>[T, B, H]</c>, final h <c>[1, B, H]</c> and (LSTM) c.</summary>
    public (Tensor Output, Tensor H, Tensor? C) Run(Tensor input, Tensor h0, Tensor? c0) => _module switch
    {
        TorchSharp.Modules.LSTM lstm => Lstm(lstm.call(input, (h0, c0!))),
        TorchSharp.Modules.GRU gru => Pair(gru.call(input, h0)),
        TorchSharp.Modules.RNN rnn => Pair(rnn.call(input, h0)),
        _ => throw new InvalidOperationException(_cell.ToString()),
    };

    /// <summary>The same over a packed batch; finals come back in the caller's order.</summary>
    public (PackedSequence Output, Tensor H, Tensor? C) Run(PackedSequence input, Tensor h0, Tensor? c0)
    {
        switch (_module)
        {
            case TorchSharp.Modules.LSTM lstm:
                var (o, h, c) = lstm.call(input, (h0, c0!));
                return (o, h, c);
            case TorchSharp.Modules.GRU gru:
                var (go, gh) = gru.call(input, h0);
                return (go, gh, null);
            case TorchSharp.Modules.RNN rnn:
                var (ro, rh) = rnn.call(input, h0);
                return (ro, rh, null);
            default:
                throw new InvalidOperationException(_cell.ToString());
        }
    }

    public void Dispose()
    {
        ReleaseMasterViews();
        _module.Dispose();
    }

    private void ReleaseMasterViews()
    {
        foreach (var (_, master, masterGrad) in _lowPrecision)
        {
            master.Dispose();
            masterGrad.Dispose();
        }
    }

    private static (Tensor, Tensor, Tensor?) Lstm((Tensor O, Tensor H, Tensor C) r) => (r.O, r.H, r.C);

    private static (Tensor, Tensor, Tensor?) Pair((Tensor O, Tensor H) r) => (r.O, r.H, null);
}
