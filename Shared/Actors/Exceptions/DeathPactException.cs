namespace RnnCluster.Actors;

/// <summary>
/// An actor received <see cref="Terminated"/> for an actor it watched and did not handle it. The
/// default decider stops the actor, as in Akka.
/// </summary>
public sealed class DeathPactException : Exception
{
    public DeathPactException()
    {
    }

    public DeathPactException(string message)
        : base(message)
    {
    }

    public DeathPactException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public DeathPactException(IActorRef deadActor)
        : base($"Unhandled Terminated for watched actor {deadActor?.Path}.")
    {
        DeadActor = deadActor;
    }

    public IActorRef? DeadActor { get; }
}
