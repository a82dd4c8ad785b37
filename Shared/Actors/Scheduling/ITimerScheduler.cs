namespace RnnCluster.Actors;

/// <summary>
/// Timers owned by one actor (<see cref="IActorContext.Timers"/>), keyed so that starting a timer
/// with a key in use replaces it. Once a timer is cancelled or replaced — and when the actor stops
/// or restarts, which cancels them all — its message is never delivered, even if it was already
/// queued. Time comes from the system's <see cref="TimeProvider"/>. Use only on the actor's turn.
/// </summary>
public interface ITimerScheduler
{
    IReadOnlyCollection<object> ActiveTimers { get; }

    void StartSingleTimer(object key, object message, TimeSpan delay);

    void StartPeriodicTimer(object key, object message, TimeSpan interval);

    void StartPeriodicTimer(object key, object message, TimeSpan initialDelay, TimeSpan interval);

    bool IsTimerActive(object key);

    void Cancel(object key);

    void CancelAll();
}
