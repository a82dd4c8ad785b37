namespace RnnCluster.Actors;

/// <summary>An actor's constructor, <c>PreStart</c> or <c>PostRestart</c> threw; the default decider stops the actor.</summary>
public sealed class ActorInitializationException : Exception
{
    public ActorInitializationException()
    {
    }

    public ActorInitializationException(string message)
        : base(message)
    {
    }

    public ActorInitializationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
