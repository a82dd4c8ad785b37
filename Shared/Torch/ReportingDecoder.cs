using TorchSharp;
using static TorchSharp.torch;

namespace RnnCluster.Torch;

/// <summary>
/// A language model's decoder, <c>x W^T + b</c>, for a backward pass that reports gradients: its backward
/// writes the weight's gradient into the flat gradient buffer itself, a block of vocabulary rows at a time,
/// and reports each block final as soon as it is written, before it computes the gradient for its input.
/// <para>
/// Why: the decoder holds most of an LM's dense gradients (43% of the benchmark LM's parameters) and its
/// backward is most of the step's backward. Behind a tap at its input (<see cref="GradientTap"/>) the whole
/// weight is final only when its backward has returned, 9 ms before backward ends for the benchmark LM's
/// worker window, so little of its all-reduce can overlap. Reported in blocks, the first block goes on the
/// wire while the rest of the decoder's backward still runs.
/// </para>
/// <para>
/// The gradients are the ones libtorch's linear backward gives, bit for bit on CPU (tested): the weight's
/// as <c>g^T x</c> added into the buffer (what AccumulateGrad does), the bias's as the column sums, the
/// input's as <c>g W</c>. The weight and bias are not autograd inputs of this node (the node writes their
/// gradients itself), so nothing else accumulates into them.
/// </para>
/// </summary>
internal sealed class ReportingDecoder : autograd.SingleTensorFunction<ReportingDecoder>
{
    private const string PlanKey = "plan";

    public override string Name => nameof(ReportingDecoder);

    /// <summary>Arguments: the input <c>[N, H]</c> and its <see cref="DecoderBlocks"/>; returns the logits <c>[N, V]</c>.</summary>
    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(vars);
        var x = (Tensor)vars[0];
        var plan = (DecoderBlocks)vars[1];
        ctx.save_for_backward([x]);
        ctx.save_data(PlanKey, plan);
        return nn.functional.linear(x, plan.Weight, plan.Bias);
    }

    /// <summary>Bias, then each block of weight rows (reported as it is written), then the input's gradient.</summary>
    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(grad_output);
        var plan = (DecoderBlocks)ctx.get_data(PlanKey);
        var x = ctx.get_saved_variables()[0];
        var g = grad_output;

        // Every sum passes FillValues.One as its alpha: add_(t) alone would make a temporary scalar that
        // the GC may free while libtorch reads it (it did, in a cluster worker whose data plane allocates).
        // Libtorch reduces the expanded bias's gradient with keepdim and views it back: the same kernel.
        plan.BiasGrad.add_(g.sum([0], keepdim: true).view(plan.BiasGrad.shape), FillValues.One);
        for (var k = 0; k < plan.Rows.Length - 1; k++)
        {
            var first = plan.Rows[k];
            var count = plan.Rows[k + 1] - first;

            // g^T x as libtorch's backward of x W^T computes it for a row-major W (the transposed product,
            // then transposed back), one block of rows of it.
            plan.WeightGrad.narrow(0, first, count).add_(g.narrow(1, first, count).t().mm(x), FillValues.One);
            plan.Pass.Fire(plan.FirstSegment + k);
        }

        return [g.mm(plan.Weight), null!];
    }
}

/// <summary>
/// What <see cref="ReportingDecoder"/> needs besides its input: the decoder's leaves and their views of the
/// flat gradient buffer, the block boundaries (<c>Rows[k]</c> to <c>Rows[k + 1]</c>), and which segments
/// of <paramref name="Pass"/> the blocks are, in order from <paramref name="FirstSegment"/>.
/// </summary>
internal sealed record DecoderBlocks(Tensor Weight, Tensor Bias, Tensor WeightGrad, Tensor BiasGrad, long[] Rows, GradientTapPass Pass, int FirstSegment);
