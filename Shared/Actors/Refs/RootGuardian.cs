using RnnCluster.Actors.Dispatch;

namespace RnnCluster.Actors.Refs;

/// <summary>
/// The parent of the <c>/user</c> and <c>/system</c> guardians. It is not an actor: it only turns a
/// guardian's failure into a logged, reasoned system termination, and a guardian's stop into the
/// next step of shutdown.
/// </summary>
internal sealed class RootGuardian(ActorSystem system, ActorPath path) : IInternalActorRef
{
    public ActorPath Path { get; } = path;

    public ActorSystem System { get; } = system;

    public void Tell(object message, IActorRef? sender) => System.DeadLetters.Tell(message, sender);

    public ValueTask SendAsync(object message, IActorRef? sender, CancellationToken cancellationToken = default)
    {
        Tell(message, sender);
        return ValueTask.CompletedTask;
    }

    public void SendSystemMessage(SystemMessage message)
    {
        switch (message)
        {
            case Failed failed:
                System.OnGuardianFailed(failed.Child, failed.Cause);
                break;
            case DeathWatchNotification notification:
                System.OnGuardianTerminated(notification.Actor);
                break;
            default:
                System.HandleDeadSystemMessage(message, this);
                break;
        }
    }

    public override string ToString() => $"Actor[{Path}]";
}
