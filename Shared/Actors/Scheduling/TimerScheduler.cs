using RnnCluster.Actors.Cell;
using RnnCluster.Actors.Dispatch;

namespace RnnCluster.Actors.Scheduling;

/// <summary>
/// Per-actor timers. The table is touched only on the actor's turn; the timer callbacks only post a
/// <see cref="TimerMessage"/> built from immutable values, so they need no lock.
/// </summary>
internal sealed class TimerScheduler(ActorCell cell) : ITimerScheduler
{
    private readonly Dictionary<object, ActiveTimer> _timers = [];
    private long _generation;

    public IReadOnlyCollection<object> ActiveTimers => [.. _timers.Keys];

    public void StartSingleTimer(object key, object message, TimeSpan delay) =>
        Start(key, message, delay, Timeout.InfiniteTimeSpan);

    public void StartPeriodicTimer(object key, object message, TimeSpan interval) =>
        StartPeriodicTimer(key, message, interval, interval);

    public void StartPeriodicTimer(object key, object message, TimeSpan initialDelay, TimeSpan interval)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        Start(key, message, initialDelay, interval);
    }

    public bool IsTimerActive(object key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return _timers.ContainsKey(key);
    }

    public void Cancel(object key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (_timers.Remove(key, out var timer))
        {
            timer.Timer.Dispose();
        }
    }

    public void CancelAll()
    {
        foreach (var timer in _timers.Values)
        {
            timer.Timer.Dispose();
        }

        _timers.Clear();
    }

    /// <summary>On delivery: the payload if the timer is still the current one for its key.</summary>
    public bool TryTakeDue(TimerMessage fired, out object message)
    {
        if (!ReferenceEquals(fired.Owner, this) || !_timers.TryGetValue(fired.Key, out var timer) || timer.Generation != fired.Generation)
        {
            message = null!;
            return false;
        }

        if (!timer.Periodic)
        {
            _timers.Remove(fired.Key);
            timer.Timer.Dispose();
        }

        message = timer.Message;
        return true;
    }

    private void Start(object key, object message, TimeSpan delay, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(message);
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        Cancel(key);
        var fired = new TimerMessage(key, ++_generation, this);
        var timer = cell.System.TimeProvider.CreateTimer(
            static state =>
            {
                var (mailbox, tick) = ((Mailbox, TimerMessage))state!;
                mailbox.PostInternal(new Envelope(tick, null));
            },
            (cell.Mailbox, fired),
            delay,
            period);
        _timers[key] = new ActiveTimer(message, fired.Generation, period != Timeout.InfiniteTimeSpan, timer);
    }

    private sealed record ActiveTimer(object Message, long Generation, bool Periodic, ITimer Timer);
}
