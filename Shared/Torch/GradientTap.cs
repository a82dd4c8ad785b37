using System.Runtime.ExceptionServices;
using TorchSharp;
using static TorchSharp.torch;

namespace RnnCluster.Torch;

/// <summary>
/// A named range <c>[Offset, Offset + Count)</c> of a model's flat gradient buffer (and of its parameter
/// buffer: the layouts are the same) whose gradients become final together during a backward pass.
/// </summary>
public sealed record GradientSegment(string Name, long Offset, long Count);

/// <summary>
/// Told, during a model's backward pass, which ranges of the flat gradient buffer hold their final values
/// for this backward, so that they can be sent (all-reduced) while lower layers still compute.
/// <para>
/// For one backward, the segments reported cover the gradient buffer exactly once, in the order of the
/// model's <see cref="TorchModel.GradientSegments"/> for the ones reported during backward, then the rest in
/// that order once backward has returned. Calls made during backward run on the thread that runs backward
/// (on CPU: the model's caller) in the middle of the autograd engine: be quick (hand the range to a
/// communication thread), and do not touch the model. An exception thrown here does not stop backward (it
/// cannot cross the native engine); the model rethrows it once backward has returned, with no further reports.
/// </para>
/// <para>
/// Measured on CPU only. On CUDA the engine calls taps from its device thread, and a reported range is
/// final only once the device stream has run the kernels queued before the report: synchronize before reading.
/// </para>
/// </summary>
public interface IGradientReadySink
{
    /// <param name="segment">The range now final; it stays unchanged until the model's next gradient write (a zeroing, another backward).</param>
    /// <param name="duringBackward">True when reported from inside backward (a tap fired), false when reported after backward returned.</param>
    void GradientsReady(GradientSegment segment, bool duringBackward);
}

/// <summary>
/// Identity on an activation at a layer boundary whose backward reports that the parameters of the layer
/// consuming the activation have their final gradients. This holds because libtorch's engine runs the
/// AccumulateGrad of a layer's parameters before any other ready node (they carry the highest priority),
/// and this node becomes ready only once the layer's own backward has produced the activation's gradient.
/// TorchSharp 0.107 has no tensor or module backward hooks, so a custom autograd function is the only
/// managed way in. Stateless: TorchSharp keeps one instance per function type for every call.
/// </summary>
internal sealed class GradientTap : autograd.SingleTensorFunction<GradientTap>
{
    private const string PointKey = "tap";

    public override string Name => nameof(GradientTap);

    /// <summary>Arguments: the activation and its <see cref="TapPoint"/>; returns an alias (no copy) that autograd tracks through this node.</summary>
    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(vars);
        ctx.save_data(PointKey, (TapPoint)vars[1]);
        return ((Tensor)vars[0]).alias();
    }

    /// <summary>Reports the segment and passes the gradient through unchanged; one entry per forward argument (the point gets none).</summary>
    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        var point = (TapPoint)ctx.get_data(PointKey);
        point.Pass.Fire(point.Segment);
        return [grad_output, null!];
    }
}

/// <summary>Which pass and which of its segments a tap reports.</summary>
internal sealed record TapPoint(GradientTapPass Pass, int Segment);

/// <summary>
/// One backward pass's reporting to a sink: taps fire the segments whose gradients are final during
/// backward, <see cref="Finish"/> reports whatever is left once backward has returned. Created only when a
/// sink is set, so a model without one builds no taps and pays nothing.
/// </summary>
internal sealed class GradientTapPass
{
    private readonly IReadOnlyList<GradientSegment> _segments;
    private readonly IGradientReadySink _sink;
    private readonly bool[] _reported;
    private ExceptionDispatchInfo? _failure;

    public GradientTapPass(IReadOnlyList<GradientSegment> segments, IGradientReadySink sink)
    {
        _segments = segments;
        _sink = sink;
        _reported = new bool[segments.Count];
    }

    /// <summary>The activation <paramref name="x"/> with a tap that reports segment <paramref name="segment"/> (an index into the model's segments).</summary>
    public Tensor Tap(Tensor x, int segment) => GradientTap.apply(x, new TapPoint(this, segment));

    /// <summary>From a tap's backward: report the segment once. Never throws, since the caller is the native engine.</summary>
    public void Fire(int segment)
    {
        if (_failure is not null || _reported[segment])
        {
            return;
        }

        _reported[segment] = true;
#pragma warning disable CA1031 // any sink failure must be carried past the native engine and rethrown after backward
        try
        {
            _sink.GradientsReady(_segments[segment], duringBackward: true);
        }
        catch (Exception e)
        {
            _failure = ExceptionDispatchInfo.Capture(e);
        }
#pragma warning restore CA1031
    }

    /// <summary>After backward (and the low-precision flush): rethrows a sink failure, else reports the segments no tap reported, in order.</summary>
    public void Finish()
    {
        _failure?.Throw();
        for (var i = 0; i < _segments.Count; i++)
        {
            if (!_reported[i])
            {
                _reported[i] = true;
                _sink.GradientsReady(_segments[i], duringBackward: false);
            }
        }
    }

    /// <summary>Refuses segments that do not tile <c>[0, count)</c> exactly once: the sink's contract.</summary>
    public static void CheckTiling(IReadOnlyList<GradientSegment> segments, long count)
    {
        long next = 0;
        foreach (var s in segments.OrderBy(s => s.Offset))
        {
            if (s.Offset != next || s.Count <= 0)
            {
                throw new InvalidOperationException($"gradient segment {s.Name} [{s.Offset}, +{s.Count}) does not continue the tiling at {next}");
            }

            next = s.Offset + s.Count;
        }

        if (next != count)
        {
            throw new InvalidOperationException($"gradient segments cover [0, {next}), not the {count} gradients");
        }
    }
}
