using RnnCluster.Actors.Dispatch;
using RnnCluster.Actors.Refs;

namespace RnnCluster.Actors.Cell;

internal sealed partial class ActorCell
{
    // Identity sets: one ref object per actor (see LocalActorRef), so reference equality is exact.
    private readonly HashSet<IInternalActorRef> _watching = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<IInternalActorRef> _watchedBy = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<IInternalActorRef> _terminatedQueued = new(ReferenceEqualityComparer.Instance);

    public IActorRef Watch(IActorRef subject)
    {
        var target = AsInternal(subject);
        if (!ReferenceEquals(target, SelfRef) && _watching.Add(target))
        {
            target.SendSystemMessage(new Watch(target, SelfRef));
        }

        return subject;
    }

    public IActorRef Unwatch(IActorRef subject)
    {
        var target = AsInternal(subject);
        if (_watching.Remove(target))
        {
            target.SendSystemMessage(new Unwatch(target, SelfRef));
        }

        _terminatedQueued.Remove(target);
        return subject;
    }

    private static IInternalActorRef AsInternal(IActorRef subject)
    {
        ArgumentNullException.ThrowIfNull(subject);
        return subject as IInternalActorRef
            ?? throw new ArgumentException($"{subject} was not created by an actor system and cannot be watched.", nameof(subject));
    }

    private void AddWatcher(IInternalActorRef watcher)
    {
        if (!ReferenceEquals(watcher, SelfRef))
        {
            _watchedBy.Add(watcher);
        }
    }

    private void RemoveWatcher(IInternalActorRef watcher) => _watchedBy.Remove(watcher);

    /// <summary>
    /// A watched actor or a child stopped. The Terminated goes through the user queue — behind the
    /// dead actor's earlier messages — as <see cref="WatchedTerminated"/>, delivered at most once.
    /// </summary>
    private void WatchedActorTerminated(IInternalActorRef actor)
    {
        if (_watching.Remove(actor) && !_terminating)
        {
            _terminatedQueued.Add(actor);
            Mailbox.PostInternal(new Envelope(new WatchedTerminated(actor), actor));
        }

        if (actor is LocalActorRef child)
        {
            HandleChildTerminated(child);
        }
    }

    private void TellWatchersWeDied()
    {
        foreach (var watcher in _watchedBy)
        {
            // The parent is told separately (and exactly once) in FinishTerminate.
            if (!ReferenceEquals(watcher, _parent))
            {
                watcher.SendSystemMessage(new DeathWatchNotification(SelfRef));
            }
        }

        _watchedBy.Clear();
    }

    private void UnwatchWatchedActors()
    {
        foreach (var watched in _watching)
        {
            watched.SendSystemMessage(new Unwatch(watched, SelfRef));
        }

        _watching.Clear();
        _terminatedQueued.Clear();
    }
}
