using RnnCluster.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace RnnCluster.Torch;

/// <summary>
/// A stacked, optionally bidirectional recurrent network over time-major batches, run one kernel call
/// per layer and direction so that dropout between layers uses the model's generator.
/// <para>
/// Sequences of different lengths run <b>padded</b>, not packed: libtorch's packed LSTM never reaches
/// oneDNN and measured ~4x slower. Padding is harmless in the forward direction (a position's output
/// depends only on earlier positions); the reverse direction runs a forward kernel over each sequence
/// reversed within its own length, so it starts at the sequence's true end. Outputs at padding positions
/// are garbage that callers mask. Final states at each sequence's true end come from the outputs
/// (h is the output there); only an LSTM's cell state c is not in the outputs, so a caller that needs
/// the finals of an LSTM over unequal lengths (the encoder–decoder's bridge) gets the packed kernels.
/// </para>
/// </summary>
internal sealed class RecurrentStack
{
    private readonly string _prefix;
    private readonly RecurrentCell[,] _cells;
    private readonly TorchModel _owner;

    public RecurrentStack(string prefix, CellKind cell, long hiddenSize, RecurrentCell[,] cells, TorchModel owner)
    {
        _prefix = prefix;
        Cell = cell;
        HiddenSize = hiddenSize;
        _cells = cells;
        _owner = owner;
    }

    public CellKind Cell { get; }

    public long HiddenSize { get; }

    public int Layers => _cells.GetLength(0);

    public int Directions => _cells.GetLength(1);

    public bool IsLstm => Cell == CellKind.Lstm;

    /// <summary>The cells compute in their own low-precision copies, whose gradients reach the flat buffer only at the flush after backward.</summary>
    public bool IsLowPrecision => _cells[0, 0].IsLowPrecision;

    /// <summary>Drops whatever low-precision gradients a failed step left behind (with the master gradients' zeroing).</summary>
    public void ClearLowPrecisionGradients()
    {
        foreach (var cell in _cells)
        {
            cell.ClearGradients();
        }
    }

    /// <summary>After a backward: low-precision cells add their gradients into the master gradient buffer.</summary>
    public void FlushGradients()
    {
        foreach (var cell in _cells)
        {
            cell.FlushGradients();
        }
    }

    /// <summary>Points every module's tensors at the flat buffers (called once the buffers exist).</summary>
    public void Bind()
    {
        for (var l = 0; l < Layers; l++)
        {
            for (var d = 0; d < Directions; d++)
            {
                var suffix = $"{l}{(d == 1 ? "_reverse" : string.Empty)}";
                _cells[l, d].Bind(
                [
                    _owner.Views($"{_prefix}weight_ih_l{suffix}"),
                    _owner.Views($"{_prefix}weight_hh_l{suffix}"),
                    _owner.Views($"{_prefix}bias_ih_l{suffix}"),
                    _owner.Views($"{_prefix}bias_hh_l{suffix}"),
                ]);
            }
        }
    }

    /// <summary>
    /// Runs every layer over <paramref name="input"/> <c>[T, B, In]</c>. <paramref name="h0"/> (and
    /// <paramref name="c0"/> for LSTM) are <c>[L*D, B, H]</c>. Dropout <c>betweenLayers</c> follows every
    /// layer but the last, which gets <paramref name="lastDropout"/>. Finals are <c>[L*D, B, H]</c> at each
    /// sequence's true end (forward) or start (reverse), only when <paramref name="wantFinals"/>.
    /// <paramref name="tapLayerInput"/>, when set, wraps each layer's input (layer index given) before the
    /// layer reads it: a gradient tap there fires once that layer's parameter gradients are final.
    /// </summary>
    public StackOutput Run(Tensor input, SequenceLayout layout, Tensor h0, Tensor? c0, bool train, double betweenLayers, double lastDropout, bool wantFinals, Func<Tensor, int, Tensor>? tapLayerInput = null)
    {
        // The kernels' own dropout is 0; their train flag only makes them keep what backward needs, which
        // an evaluation-mode gradient (a gradient check) needs too.
        var kernelTrain = train || is_grad_enabled();
        var packed = wantFinals && IsLstm && !layout.AllFull;
        var finalsH = new List<Tensor>();
        var finalsC = new List<Tensor>();
        var x = input;
        for (var l = 0; l < Layers; l++)
        {
            if (tapLayerInput is not null)
            {
                x = tapLayerInput(x, l);
            }

            var outputs = new Tensor[Directions];
            for (var d = 0; d < Directions; d++)
            {
                var cell = _cells[l, d];
                cell.SetTraining(kernelTrain);
                var index = (l * Directions) + d;
                var hIn = h0.narrow(0, index, 1);
                var cIn = IsLstm ? c0!.narrow(0, index, 1) : null;
                var source = d == 0 ? x : layout.Reverse(x);
                var master = source.dtype;
                if (cell.IsLowPrecision)
                {
                    cell.Refresh();
                    (source, hIn, cIn) = (source.to(cell.Type), hIn.to(cell.Type), cIn?.to(cell.Type));
                }

                Tensor output;
                Tensor h;
                Tensor? c;
                if (packed)
                {
                    var sequence = nn.utils.rnn.pack_padded_sequence(source, layout.HostLengths, enforce_sorted: false);
                    var (packedOutput, ph, pc) = cell.Run(sequence, hIn, cIn);
                    (output, _) = nn.utils.rnn.pad_packed_sequence(packedOutput, total_length: layout.Steps);
                    (h, c) = (ph, pc);
                }
                else
                {
                    (output, h, c) = cell.Run(source, hIn, cIn);
                    if (wantFinals && !layout.AllFull)
                    {
                        h = layout.Last(output);
                    }
                }

                if (cell.IsLowPrecision)
                {
                    (output, h, c) = (output.to(master), h.to(master), c?.to(master));
                }

                outputs[d] = d == 0 ? output : layout.Reverse(output);
                finalsH.Add(h);
                if (c is not null)
                {
                    finalsC.Add(c);
                }
            }

            x = Directions == 1 ? outputs[0] : cat(outputs, 2);
            if (!layout.AllFull)
            {
                // Padding positions hold whatever the kernels computed there; zero them so no layer (nor a
                // ReLU network's growth over the padding) can carry an Inf whose 0-gradient becomes NaN.
                x = x.masked_fill(layout.Valid.logical_not().unsqueeze(2), FillValues.Zero);
            }

            x = _owner.Dropout(x, l + 1 < Layers ? betweenLayers : lastDropout, train);
        }

        return new StackOutput(x, cat(finalsH, 0), IsLstm ? cat(finalsC, 0) : null);
    }
}

/// <summary>A stack's top-layer output <c>[T, B, D*H]</c> (after its dropout) and its finals <c>[L*D, B, H]</c>.</summary>
internal sealed record StackOutput(Tensor Output, Tensor H, Tensor? C);
