using System.Globalization;
using RnnCluster.Actors.Dispatch;
using RnnCluster.Actors.Refs;

namespace RnnCluster.Actors.Cell;

internal sealed partial class ActorCell
{
    // Guards _children and _noMoreChildren. Taken by other threads (ActorSystem.ActorOf on the
    // guardian, path lookups), so it is held only for dictionary operations, never while calling out.
    private readonly Lock _childrenLock = new();
    private readonly OrderedDictionary<string, ChildRestartStats> _children = new(StringComparer.Ordinal);
    private bool _noMoreChildren;
    private long _generatedNames;

    public IReadOnlyList<IActorRef> Children
    {
        get
        {
            lock (_childrenLock)
            {
                return [.. _children.Values.Select(stats => (IActorRef)stats.Child)];
            }
        }
    }

    public IActorRef? Child(string name) => TryGetChildRef(name);

    public IActorRef ActorOf(Props props, string? name = null) => CreateChild(props, name);

    public void Stop(IActorRef actor)
    {
        ArgumentNullException.ThrowIfNull(actor);
        if (ReferenceEquals(actor, SelfRef))
        {
            // As a system message: the current message finishes before stopping begins.
            SelfRef.SendSystemMessage(Terminate.Instance);
        }
        else if (actor is LocalActorRef local && TryGetStats(local, out _))
        {
            StopChild(local);
        }
        else if (actor is IInternalActorRef other)
        {
            other.SendSystemMessage(Terminate.Instance);
        }
        else
        {
            throw new ArgumentException($"{actor} was not created by an actor system.", nameof(actor));
        }
    }

    /// <summary>Thread-safe: called on this actor's turn and, for guardians, from any thread.</summary>
    public LocalActorRef CreateChild(Props props, string? name)
    {
        ArgumentNullException.ThrowIfNull(props);
        if (name is null)
        {
            name = "$" + Interlocked.Increment(ref _generatedNames).ToString(CultureInfo.InvariantCulture);
        }
        else
        {
            ActorPath.ValidateElement(name);
            if (name.StartsWith('$'))
            {
                throw new InvalidActorNameException($"Names starting with '$' are reserved for generated names: '{name}'.");
            }
        }

        var child = new ActorCell(System, props, SelfRef.Path.Child(name), SelfRef);
        lock (_childrenLock)
        {
            // Checked under the lock that HandleTerminate takes to set it, so a child is either
            // refused or seen (and stopped) by the terminating parent — never orphaned.
            if (_noMoreChildren)
            {
                throw new InvalidOperationException($"{SelfRef.Path} is stopping; it cannot create child '{name}'.");
            }

            if (!_children.TryAdd(name, new ChildRestartStats(child.SelfRef)))
            {
                throw new InvalidActorNameException($"Actor name '{name}' is not unique under {SelfRef.Path}.");
            }
        }

        child.Start();
        return child.SelfRef;
    }

    public LocalActorRef? TryGetChildRef(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        lock (_childrenLock)
        {
            return _children.TryGetValue(name, out var stats) ? stats.Child : null;
        }
    }

    /// <summary>The live (not stopping) children, for all-for-one strategies.</summary>
    public IReadOnlyList<ChildRestartStats> ChildStatsSnapshot()
    {
        lock (_childrenLock)
        {
            return [.. _children.Values.Where(stats => !stats.Stopping)];
        }
    }

    public void StopChild(LocalActorRef child)
    {
        lock (_childrenLock)
        {
            if (_children.TryGetValue(child.Path.Name, out var stats) && ReferenceEquals(stats.Child, child))
            {
                stats.Stopping = true;
            }
        }

        child.SendSystemMessage(Terminate.Instance);
    }

    private bool TryGetStats(LocalActorRef child, out ChildRestartStats stats)
    {
        lock (_childrenLock)
        {
            return _children.TryGetValue(child.Path.Name, out stats!) && ReferenceEquals(stats.Child, child);
        }
    }

    private bool AnyChildStopping()
    {
        lock (_childrenLock)
        {
            return _children.Values.Any(stats => stats.Stopping);
        }
    }

    /// <summary>A child has stopped: free its name and continue a pending stop or restart.</summary>
    private void HandleChildTerminated(LocalActorRef child)
    {
        int remaining;
        lock (_childrenLock)
        {
            if (!_children.TryGetValue(child.Path.Name, out var stats) || !ReferenceEquals(stats.Child, child))
            {
                return;
            }

            _children.Remove(child.Path.Name);
            remaining = _children.Count;
        }

        if (_terminating)
        {
            if (remaining == 0)
            {
                FinishTerminate();
            }
        }
        else if (_recreateCause is not null && !AnyChildStopping())
        {
            FinishRecreate();
        }
    }

    private List<LocalActorRef> CloseChildrenAndStopAll()
    {
        var toStop = new List<LocalActorRef>();
        lock (_childrenLock)
        {
            _noMoreChildren = true;
            foreach (var stats in _children.Values)
            {
                if (!stats.Stopping)
                {
                    stats.Stopping = true;
                    toStop.Add(stats.Child);
                }
            }
        }

        foreach (var child in toStop)
        {
            child.SendSystemMessage(Terminate.Instance);
        }

        return toStop;
    }

    private int ChildCount()
    {
        lock (_childrenLock)
        {
            return _children.Count;
        }
    }
}
