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
    private readonly nn.Module _module;
    private readonly CellKind _cell;

    public RecurrentCell(CellKind cell, long inputSize, long hiddenSize, ScalarType dtype, Device device)
    {
        _cell = cell;
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
        var parameters = _module.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        string[] names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"];
        for (var i = 0; i < names.Length; i++)
        {
            var p = parameters[names[i]];
            // set_ keeps the TensorImpl the native module holds, so its kernels read the flat buffer.
            p.set_(views[i].Value);
            p.grad = views[i].Grad;
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

    public void Dispose() => _module.Dispose();

    private static (Tensor, Tensor, Tensor?) Lstm((Tensor O, Tensor H, Tensor C) r) => (r.O, r.H, r.C);

    private static (Tensor, Tensor, Tensor?) Pair((Tensor O, Tensor H) r) => (r.O, r.H, null);
}
