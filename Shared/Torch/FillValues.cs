using TorchSharp;
using static TorchSharp.torch;

namespace RnnCluster.Torch;

/// <summary>
/// The values models fill masked positions with, as scalars held for the process's life. A <c>double</c> passed where
/// a <see cref="Scalar"/> is expected becomes a temporary whose native value only its handle reaches libtorch by: the
/// GC may finalize the temporary (freeing that value) while the native call still reads it. Seen once in CI as
/// "Expected false to be true" from <c>c10::Scalar::toDouble</c> inside <c>masked_fill</c>.
/// </summary>
internal static class FillValues
{
    public static readonly Scalar Zero = 0.0.ToScalar();

    public static readonly Scalar ZeroIndex = 0L.ToScalar();

    public static readonly Scalar NoIndex = (-1L).ToScalar();

    public static readonly Scalar NegativeInfinity = double.NegativeInfinity.ToScalar();
}
