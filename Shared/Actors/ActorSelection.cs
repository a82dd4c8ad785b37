using RnnCluster.Actors.Dispatch;

namespace RnnCluster.Actors;

/// <summary>
/// A path resolved at each send, like Akka's: useful for actors that may be restarted under the
/// same name by their parent's strategy, or not exist yet. Sends to a path with no actor go to
/// dead letters.
/// </summary>
public sealed class ActorSelection
{
    private readonly ActorSystem _system;

    internal ActorSelection(ActorSystem system, ActorPath path)
    {
        _system = system;
        Path = path;
    }

    public ActorPath Path { get; }

    public void Tell(object message, IActorRef? sender = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_system.Lookup(Path) is { } target)
        {
            target.Tell(message, sender);
        }
        else
        {
            _system.PublishDeadLetter(message, sender, _system.DeadLetters, DeadLetterReasons.NotFound + " " + Path);
        }
    }

    /// <exception cref="ActorNotFoundException">No actor lives at the path now.</exception>
    public IActorRef ResolveOne() =>
        _system.Lookup(Path) ?? throw new ActorNotFoundException($"No actor at {Path}.");

    public override string ToString() => $"ActorSelection[{Path}]";
}
