using System.Numerics;

namespace RnnCluster.Common;

/// <summary>
/// The element-wise add every gradient sum uses, in one process (<c>GradientReducer</c>) and across
/// workers (<c>GradientGroup</c>): sharing it is what keeps their results the same bits. A vector add gives
/// each element the same fp32 result as the scalar one, so only the order of contributions matters.
/// </summary>
public static class FloatSums
{
    /// <summary><paramref name="sum"/>[i] += <paramref name="values"/>[i] for every i.</summary>
    public static void Add(Span<float> sum, ReadOnlySpan<float> values)
    {
        if (values.Length != sum.Length)
        {
            throw new ArgumentException($"adding {values.Length} values to {sum.Length} sums", nameof(values));
        }

        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var width = Vector<float>.Count;
            for (; i <= sum.Length - width; i += width)
            {
                (new Vector<float>(sum[i..]) + new Vector<float>(values[i..])).CopyTo(sum[i..]);
            }
        }

        for (; i < sum.Length; i++)
        {
            sum[i] += values[i];
        }
    }
}
