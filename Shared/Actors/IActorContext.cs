namespace RnnCluster.Actors;

/// <summary>
/// What an actor sees of itself and the system while it processes a message. Only valid on the
/// actor's own turn (inside receive and the lifecycle hooks); it is not thread-safe, like Akka's.
/// </summary>
public interface IActorContext
{
    IActorRef Self { get; }

    /// <summary>The sender of the current message, or <see cref="ActorSystem.DeadLetters"/> when it had none.</summary>
    IActorRef Sender { get; }

    IActorRef Parent { get; }

    ActorSystem System { get; }

    Props Props { get; }

    /// <summary>Children that are alive or still stopping, in creation order.</summary>
    IReadOnlyList<IActorRef> Children { get; }

    /// <summary>Timers owned by this actor; all are cancelled when it stops or restarts.</summary>
    ITimerScheduler Timers { get; }

    /// <summary>The child with this name, or <c>null</c>.</summary>
    IActorRef? Child(string name);

    /// <summary>Creates a child; <paramref name="name"/> must be unique among its live siblings.</summary>
    /// <exception cref="InvalidActorNameException">The name is taken or invalid.</exception>
    IActorRef ActorOf(Props props, string? name = null);

    /// <summary>Stops a child or this actor: after its current message, skipping anything still queued.</summary>
    void Stop(IActorRef actor);

    /// <summary>
    /// Delivers <see cref="Terminated"/> exactly once when <paramref name="subject"/> stops (at once if it is
    /// already dead). An unhandled <see cref="Terminated"/> fails this actor with <see cref="DeathPactException"/>.
    /// </summary>
    IActorRef Watch(IActorRef subject);

    /// <summary>Cancels a watch; a <see cref="Terminated"/> already queued for it is dropped.</summary>
    IActorRef Unwatch(IActorRef subject);
}
