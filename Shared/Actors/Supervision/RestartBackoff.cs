namespace RnnCluster.Actors;

/// <summary>
/// Exponential back-off between restarts of a child. The n-th consecutive restart (n = 0, 1, …) waits
/// <c>min(Max, Min·2ⁿ) · (1 + RandomFactor·u)</c> with u uniform in [0, 1) from the system's seeded
/// random source, so the delay lies in <c>[base, base·(1 + RandomFactor)]</c>. The jitter spreads
/// restarts of many workers that failed together. While backing off the child is suspended: its
/// messages stay queued. The count of consecutive restarts starts over when a failure comes more
/// than <see cref="ResetAfter"/> after the previous one (never, when <c>null</c>).
/// </summary>
public sealed record RestartBackoff(TimeSpan Min, TimeSpan Max, double RandomFactor)
{
    public TimeSpan Min { get; } = Min >= TimeSpan.Zero
        ? Min
        : throw new ArgumentOutOfRangeException(nameof(Min), Min, "Min is zero or more.");

    public TimeSpan Max { get; } = Max >= Min
        ? Max
        : throw new ArgumentOutOfRangeException(nameof(Max), Max, "Max is at least Min.");

    public double RandomFactor { get; } = RandomFactor is >= 0 and <= 10
        ? RandomFactor
        : throw new ArgumentOutOfRangeException(nameof(RandomFactor), RandomFactor, "RandomFactor is in [0, 10].");

    public TimeSpan? ResetAfter { get; init; }

    /// <summary>The delay before restart number <paramref name="attempt"/> (0-based) given a uniform sample.</summary>
    public TimeSpan DelayFor(int attempt, double uniformSample)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(attempt);
        if (uniformSample is < 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(uniformSample), uniformSample, "The sample is in [0, 1).");
        }

        // Doubles avoid overflow of Min·2ⁿ for large n; Math.Min caps before jitter is applied.
        var baseTicks = Math.Min(Max.Ticks, Min.Ticks * Math.Pow(2, Math.Min(attempt, 62)));
        return TimeSpan.FromTicks((long)(baseTicks * (1 + (RandomFactor * uniformSample))));
    }
}
