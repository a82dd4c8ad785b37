using RnnCluster.Common;

namespace RnnCluster.Data;

/// <summary>
/// Lengths of successive truncated-BPTT windows over the streams. Fixed: bptt, shortened at the end.
/// Random (Merity et al. 2017, AWD-LSTM): the base is bptt with probability 0.95, else bptt/2, and the
/// length is a normal around it (sd 5), at least 5 and at most bptt+20, so window boundaries move from
/// epoch to epoch and every token is sometimes far from one. Because short windows carry fewer tokens,
/// their learning rate is scaled by length/bptt.
/// </summary>
public sealed class WindowPlanner
{
    public const int MinRandomLength = 5;
    public const int MaxExtraLength = 20;
    private const double HalfBaseProbability = 0.05;
    private const double StandardDeviation = 5;

    public WindowPlanner(int bptt, bool randomBptt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bptt, 1);
        Bptt = bptt;
        RandomBptt = randomBptt;
    }

    public int Bptt { get; }

    public bool RandomBptt { get; }

    /// <summary>The longest window <see cref="NextLength"/> can return (buffer sizing).</summary>
    public int MaxLength => RandomBptt ? Bptt + MaxExtraLength : Bptt;

    /// <summary>
    /// The next window's length given the time steps left in the epoch. Fixed windows draw nothing from
    /// <paramref name="rng"/>; random ones always draw the same amount, so a saved generator state resumes exactly.
    /// </summary>
    public int NextLength(SeededRandom rng, int remaining)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(remaining, 1);
        if (!RandomBptt)
        {
            return Math.Min(Bptt, remaining);
        }

        ArgumentNullException.ThrowIfNull(rng);
        var baseLength = rng.NextDouble() < HalfBaseProbability ? Bptt / 2.0 : Bptt;
        var sample = Math.Round(baseLength + (StandardDeviation * rng.NextGaussian()), MidpointRounding.AwayFromZero);
        var length = (int)Math.Clamp(sample, MinRandomLength, Bptt + MaxExtraLength);
        return Math.Min(length, remaining);
    }

    /// <summary>length / bptt for random windows (AWD-LSTM's learning-rate rescaling), 1 for fixed ones.</summary>
    public double LearningRateScale(int length)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        return RandomBptt ? length / (double)Bptt : 1.0;
    }

    /// <summary>The (start, length) windows of one epoch over streams of <paramref name="streamLength"/> steps.</summary>
    public IEnumerable<(int Start, int Length)> Epoch(SeededRandom rng, int streamLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(streamLength);
        for (var start = 0; start < streamLength;)
        {
            var length = NextLength(rng, streamLength - start);
            yield return (start, length);
            start += length;
        }
    }
}
