using RnnCluster.Actors.Cell;
using RnnCluster.Actors.Dispatch;

namespace RnnCluster.Actors.Refs;

/// <summary>
/// A ref to an actor in this process. One instance per actor (per incarnation of its name), so
/// reference equality is identity: a stopped actor's ref never reaches a later actor of the same name.
/// </summary>
internal sealed class LocalActorRef(ActorCell cell, ActorPath path) : IInternalActorRef
{
    public ActorPath Path { get; } = path;

    public ActorCell Cell { get; } = cell;

    public ActorSystem System => Cell.System;

    public void Tell(object message, IActorRef? sender)
    {
        ArgumentNullException.ThrowIfNull(message);
        Cell.Mailbox.PostUser(new Envelope(message, sender));
    }

    public ValueTask SendAsync(object message, IActorRef? sender, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return Cell.Mailbox.PostUserAsync(new Envelope(message, sender), cancellationToken);
    }

    public void SendSystemMessage(SystemMessage message) => Cell.Mailbox.PostSystem(message);

    public override string ToString() => $"Actor[{Path}]";
}
