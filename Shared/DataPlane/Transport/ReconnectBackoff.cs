namespace RnnCluster.DataPlane.Transport;

/// <summary>
/// Delay before the n-th consecutive redial: min(Max, Min·2ⁿ) scaled by a random factor in
/// [1 - jitter, 1 + jitter] and capped at Max again. The jitter spreads the redials of many workers
/// after a coordinator restart; the random source is injected so tests can fix it.
/// Not thread-safe: one instance per dialer (<see cref="Random"/> is not thread-safe either).
/// </summary>
public sealed class ReconnectBackoff
{
    private readonly TimeSpan _min;
    private readonly TimeSpan _max;
    private readonly double _jitter;
    private readonly Random _random;

    public ReconnectBackoff(TimeSpan min, TimeSpan max, double jitter, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(min, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, min);
        if (jitter is < 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(jitter), jitter, "Jitter must be in [0, 1).");
        }

        _min = min;
        _max = max;
        _jitter = jitter;
        _random = random;
    }

    /// <summary>Consecutive failed attempts so far; the next delay doubles with each.</summary>
    public int Attempt { get; private set; }

    /// <summary>The delay before the next attempt; counts that attempt.</summary>
    public TimeSpan NextDelay()
    {
        // Doubling stops at 2^30: beyond that the cap has long been reached and the shift would overflow.
        var doublings = Math.Min(Attempt, 30);
        Attempt++;
        var baseTicks = Math.Min((double)_max.Ticks, _min.Ticks * (double)(1L << doublings));
        var factor = 1 + (_jitter * ((2 * _random.NextDouble()) - 1));
        return TimeSpan.FromTicks((long)Math.Min(_max.Ticks, baseTicks * factor));
    }

    /// <summary>A connection succeeded: the next failure starts again from the minimum.</summary>
    public void Reset() => Attempt = 0;
}
