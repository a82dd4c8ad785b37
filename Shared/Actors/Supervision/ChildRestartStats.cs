using RnnCluster.Actors.Refs;

namespace RnnCluster.Actors;

/// <summary>
/// A parent's bookkeeping for one child. Only the parent's turn touches the restart fields; the
/// containing dictionary is locked by the parent cell because lookups come from other threads.
/// </summary>
internal sealed class ChildRestartStats(LocalActorRef child)
{
    private readonly Queue<DateTimeOffset> _restarts = new();
    private int _backoffAttempts;
    private DateTimeOffset? _lastFailure;

    public LocalActorRef Child { get; } = child;

    /// <summary>Set once the parent asked the child to stop; the name stays taken until it has.</summary>
    public bool Stopping { get; set; }

    /// <summary>Records a restart at <paramref name="now"/> if the sliding window allows it.</summary>
    public bool RequestRestartPermission(DateTimeOffset now, RestartLimit? limit)
    {
        if (limit is null)
        {
            return true;
        }

        while (_restarts.Count > 0 && now - _restarts.Peek() >= limit.Window)
        {
            _restarts.Dequeue();
        }

        if (_restarts.Count >= limit.MaxRetries)
        {
            return false;
        }

        _restarts.Enqueue(now);
        return true;
    }

    /// <summary>The 0-based count of consecutive restarts for the back-off exponent.</summary>
    public int NextBackoffAttempt(DateTimeOffset now, RestartBackoff backoff)
    {
        if (backoff.ResetAfter is { } resetAfter && _lastFailure is { } last && now - last > resetAfter)
        {
            _backoffAttempts = 0;
        }

        _lastFailure = now;
        return _backoffAttempts++;
    }
}
