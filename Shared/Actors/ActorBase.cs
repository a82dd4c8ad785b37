using RnnCluster.Actors.Cell;

namespace RnnCluster.Actors;

/// <summary>
/// The base of every actor. An instance is made by its <see cref="Props"/> on the actor's own
/// mailbox turn and is replaced by a fresh one on every restart; the <see cref="IActorRef"/>
/// (and the queued messages) survive restarts.
/// </summary>
public abstract class ActorBase
{
    private readonly ActorCell _cell;

    protected ActorBase()
    {
        // Akka's rule: an actor instance only exists inside a cell, so that Self and Context are
        // valid from the constructor on. The cell sets Current while it runs the Props factory.
        _cell = ActorCell.Current
            ?? throw new InvalidOperationException(
                $"{GetType().Name} was created with 'new'; create actors with ActorSystem.ActorOf or Context.ActorOf and Props.Create.");
    }

    protected IActorContext Context => _cell;

    protected IActorRef Self => _cell.Self;

    protected IActorRef Sender => _cell.Sender;

    internal ActorCell Cell => _cell;

    /// <summary>Called on the first incarnation before any message, and by the default <see cref="PostRestart"/>.</summary>
    protected internal virtual void PreStart()
    {
    }

    /// <summary>Called once the actor has stopped (and by the default <see cref="PreRestart"/>).</summary>
    protected internal virtual void PostStop()
    {
    }

    /// <summary>
    /// Called on the failed incarnation before it is replaced. The default stops every child and
    /// calls <see cref="PostStop"/>; the restart completes only after those children have stopped.
    /// </summary>
    /// <param name="reason">The failure that caused the restart.</param>
    /// <param name="message">The message being processed when it failed, if any. It is not processed again.</param>
    protected internal virtual void PreRestart(Exception reason, object? message)
    {
        foreach (var child in Context.Children)
        {
            Context.Stop(child);
        }

        PostStop();
    }

    /// <summary>Called on the new incarnation; the default calls <see cref="PreStart"/>.</summary>
    protected internal virtual void PostRestart(Exception reason) => PreStart();

    /// <summary>The strategy for this actor's children, unless <see cref="Props.SupervisorStrategy"/> sets one.</summary>
    protected internal virtual SupervisorStrategy SupervisorStrategy() => Actors.SupervisorStrategy.Default;

    /// <summary>Processes one message. Anything not understood goes to <see cref="Unhandled"/>.</summary>
    protected internal abstract void OnReceive(object message);

    /// <summary>
    /// An unhandled <see cref="Terminated"/> fails the actor with <see cref="DeathPactException"/> (Akka's
    /// death pact: an actor that watches another and ignores its death should not go on silently).
    /// Anything else is published as <see cref="UnhandledMessage"/> and logged at debug level.
    /// </summary>
    protected virtual void Unhandled(object message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message is Terminated terminated)
        {
            throw new DeathPactException(terminated.ActorRef);
        }

        _cell.PublishUnhandled(message);
    }
}
