using TorchSharp;
using static TorchSharp.torch;

namespace RnnCluster.Torch;

/// <summary>
/// Constant scalar arguments, held for the process's life. A number passed where a <see cref="Scalar"/> is expected
/// becomes a temporary whose native value only its handle reaches libtorch by: the GC may finalize the temporary
/// (freeing that value) while the native call still reads it, and libtorch then aborts the process ("Expected false
/// to be true" from <c>c10::Scalar::toDouble</c>; seen in CI inside <c>masked_fill</c>, and in the soak, where it
/// killed a worker, inside TorchSharp's own <c>Tensor.ToDouble</c>). So no code here passes a number as a scalar:
/// constants come from here, per-call values are created with <c>ToScalar()</c> under <c>using</c> (which keeps them
/// alive until the call has returned), and a one-element tensor is read with <see cref="ValueOf"/>.
/// </summary>
internal static class FillValues
{
    public static readonly Scalar Zero = 0.0.ToScalar();

    public static readonly Scalar ZeroIndex = 0L.ToScalar();

    public static readonly Scalar NoIndex = (-1L).ToScalar();

    public static readonly Scalar NegativeInfinity = double.NegativeInfinity.ToScalar();

    public static readonly Scalar OneIndex = 1L.ToScalar();

    /// <summary>The alpha of a plain in-place sum, <c>a.add_(b, One)</c>: <c>add_(b)</c> alone makes a temporary one.</summary>
    public static readonly Scalar One = 1.0.ToScalar();

    /// <summary>The value of a one-element tensor, read from its data: no temporary <see cref="Scalar"/>.</summary>
    public static double ValueOf(Tensor value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.dtype == ScalarType.Float32)
        {
            return value.item<float>();
        }

        if (value.dtype == ScalarType.Float64)
        {
            return value.item<double>();
        }

        using var wide = value.to_type(ScalarType.Float64);
        return wide.item<double>();
    }
}
