using RnnCluster.Actors.Cell;

namespace RnnCluster.Actors;

public static class ActorRefExtensions
{
    /// <summary>
    /// Sends with the current actor as the sender when called from inside an actor, and with no
    /// sender (replies go to dead letters) otherwise — the same convenience Akka gives.
    /// </summary>
    public static void Tell(this IActorRef receiver, object message)
    {
        ArgumentNullException.ThrowIfNull(receiver);
        receiver.Tell(message, ActorCell.Current?.Self);
    }

    /// <summary>Sends keeping the sender of the message being processed, so replies skip this actor.</summary>
    /// <exception cref="InvalidOperationException">Called outside an actor's message processing.</exception>
    public static void Forward(this IActorRef receiver, object message)
    {
        ArgumentNullException.ThrowIfNull(receiver);
        var cell = ActorCell.Current
            ?? throw new InvalidOperationException("Forward keeps the current sender, so it is only valid inside an actor's receive.");
        receiver.Tell(message, cell.CurrentSenderOrNull);
    }
}
