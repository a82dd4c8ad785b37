using RnnCluster.Common;
using System.Numerics;

namespace RnnCluster.Training.Parallel;

/// <summary>
/// Sums worker gradient contributions into the master's gradient buffer. Every element is summed in
/// the same order (contribution 0, then 1, …) whatever the thread split, so the result is
/// deterministic; the first contribution is copied rather than added to a zeroed buffer (one pass
/// less), and the element range is split across cores (the workers are idle while this runs).
/// </summary>
internal static unsafe class GradientReducer
{
    public static void Sum(Span<float> destination, IReadOnlyList<float[]> contributions)
    {
        if (contributions.Count == 0)
        {
            destination.Clear();
            return;
        }

        foreach (var c in contributions)
        {
            if (c.Length != destination.Length)
            {
                throw new ArgumentException($"a contribution has {c.Length} gradients, the master {destination.Length}", nameof(contributions));
            }
        }

        var n = destination.Length;
        var chunks = Math.Clamp(Environment.ProcessorCount, 1, 8);
        fixed (float* start = destination)
        {
            var basePointer = (IntPtr)start;
            System.Threading.Tasks.Parallel.For(0, chunks, chunk =>
            {
                var lo = (int)((long)n * chunk / chunks);
                var hi = (int)((long)n * (chunk + 1) / chunks);
                var target = new Span<float>((float*)basePointer + lo, hi - lo);
                contributions[0].AsSpan(lo, hi - lo).CopyTo(target);
                for (var k = 1; k < contributions.Count; k++)
                {
                    FloatSums.Add(target, contributions[k].AsSpan(lo, hi - lo));
                }
            });
        }
    }
}
