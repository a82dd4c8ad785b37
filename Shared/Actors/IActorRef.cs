namespace RnnCluster.Actors;

/// <summary>
/// A handle to an actor: the only way to talk to it. Local refs deliver into a mailbox; a later
/// remote ref will implement this interface and send over a transport, so code holding an
/// <see cref="IActorRef"/> never knows which it has. Delivery is at-most-once, in order per
/// sender–receiver pair.
/// </summary>
public interface IActorRef
{
    ActorPath Path { get; }

    /// <summary>
    /// Sends without waiting. When the recipient is gone, or its bounded mailbox is full, the
    /// message goes to dead letters (logged and published on the event stream) instead.
    /// </summary>
    void Tell(object message, IActorRef? sender);

    /// <summary>
    /// Sends, waiting for space when the recipient has a full bounded mailbox (back-pressure).
    /// Completes at once for an unbounded mailbox. A recipient that stops while the send waits
    /// receives nothing: the message goes to dead letters and the send completes.
    /// </summary>
    ValueTask SendAsync(object message, IActorRef? sender, CancellationToken cancellationToken = default);
}
