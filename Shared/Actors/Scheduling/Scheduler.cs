using System.Collections.Concurrent;
using RnnCluster.Actors.Dispatch;
using RnnCluster.Actors.Refs;

namespace RnnCluster.Actors;

/// <summary>
/// System-level delayed and periodic sends, driven by the system's <see cref="TimeProvider"/> (so a
/// manual clock drives them in tests). For timers that belong to an actor's lifecycle prefer
/// <see cref="IActorContext.Timers"/>, which are cancelled automatically on stop and restart.
/// </summary>
public sealed class Scheduler
{
    private readonly TimeProvider _timeProvider;

    // Every pending item, so that system termination can cancel them. Items remove themselves once done.
    private readonly ConcurrentDictionary<ScheduledItem, byte> _pending = new();
    private volatile bool _shutDown;

    internal Scheduler(TimeProvider timeProvider) => _timeProvider = timeProvider;

    public ICancelable ScheduleTellOnce(TimeSpan delay, IActorRef receiver, object message, IActorRef? sender)
    {
        ArgumentNullException.ThrowIfNull(receiver);
        ArgumentNullException.ThrowIfNull(message);
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        return Schedule(delay, Timeout.InfiniteTimeSpan, () => receiver.Tell(message, sender));
    }

    public ICancelable ScheduleTellRepeatedly(TimeSpan initialDelay, TimeSpan interval, IActorRef receiver, object message, IActorRef? sender)
    {
        ArgumentNullException.ThrowIfNull(receiver);
        ArgumentNullException.ThrowIfNull(message);
        ArgumentOutOfRangeException.ThrowIfLessThan(initialDelay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        return Schedule(initialDelay, interval, () => receiver.Tell(message, sender));
    }

    internal void ScheduleSystemMessage(TimeSpan delay, IInternalActorRef receiver, SystemMessage message) =>
        Schedule(delay, Timeout.InfiniteTimeSpan, () => receiver.SendSystemMessage(message));

    internal void Shutdown()
    {
        _shutDown = true;
        foreach (var item in _pending.Keys)
        {
            item.Cancel();
        }
    }

    private ScheduledItem Schedule(TimeSpan delay, TimeSpan period, Action action)
    {
        var item = new ScheduledItem(this, action, period != Timeout.InfiniteTimeSpan);
        if (_shutDown)
        {
            item.Cancel();
            return item;
        }

        _pending.TryAdd(item, 0);
        item.Arm(_timeProvider.CreateTimer(static state => ((ScheduledItem)state!).Fire(), item, delay, period));
        return item;
    }

    private sealed class ScheduledItem(Scheduler owner, Action action, bool periodic) : ICancelable
    {
        private ITimer? _timer;
        private int _cancelled;

        public bool IsCancellationRequested => Volatile.Read(ref _cancelled) != 0;

        public void Arm(ITimer timer)
        {
            _timer = timer;

            // Benign race: Cancel may have run between CreateTimer and this assignment and found no
            // timer to dispose; dispose it here instead.
            if (IsCancellationRequested)
            {
                timer.Dispose();
            }
        }

        public void Cancel()
        {
            if (Interlocked.Exchange(ref _cancelled, 1) == 0)
            {
                _timer?.Dispose();
                owner._pending.TryRemove(this, out _);
            }
        }

        public void Fire()
        {
            if (IsCancellationRequested)
            {
                return;
            }

            if (!periodic)
            {
                Cancel();
            }

            action();
        }
    }
}
