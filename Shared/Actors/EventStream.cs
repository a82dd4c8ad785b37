using System.Collections.Immutable;

namespace RnnCluster.Actors;

/// <summary>
/// System-wide publish/subscribe by type: a subscriber to a type receives every published event
/// assignable to it (subscribe to <see cref="object"/> for everything). Dead letters, unhandled
/// messages and supervision decisions are published here; the cluster publishes member events.
/// Subscriptions of an actor end when it stops.
/// </summary>
public sealed class EventStream
{
    private readonly Lock _lock = new();

    // Copy-on-write: Publish, the hot path, reads a snapshot without locking.
    private ImmutableArray<(IActorRef Subscriber, Type Channel)> _subscriptions = [];

    public bool Subscribe(IActorRef subscriber, Type channel)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        ArgumentNullException.ThrowIfNull(channel);
        lock (_lock)
        {
            if (_subscriptions.Contains((subscriber, channel)))
            {
                return false;
            }

            _subscriptions = _subscriptions.Add((subscriber, channel));
            return true;
        }
    }

    public bool Subscribe<T>(IActorRef subscriber) => Subscribe(subscriber, typeof(T));

    public bool Unsubscribe(IActorRef subscriber, Type channel)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        ArgumentNullException.ThrowIfNull(channel);
        lock (_lock)
        {
            var before = _subscriptions.Length;
            _subscriptions = _subscriptions.Remove((subscriber, channel));
            return _subscriptions.Length != before;
        }
    }

    /// <summary>Removes every subscription of <paramref name="subscriber"/>.</summary>
    public void Unsubscribe(IActorRef subscriber)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        lock (_lock)
        {
            _subscriptions = _subscriptions.RemoveAll(s => ReferenceEquals(s.Subscriber, subscriber));
        }
    }

    public void Publish(object @event)
    {
        ArgumentNullException.ThrowIfNull(@event);
        var type = @event.GetType();
        foreach (var (subscriber, channel) in _subscriptions)
        {
            if (channel.IsAssignableFrom(type))
            {
                subscriber.Tell(@event, null);
            }
        }
    }
}
