namespace RnnCluster.Actors;

/// <summary>The failure an actor takes when it processes <see cref="Kill"/>.</summary>
public sealed class ActorKilledException : Exception
{
    public ActorKilledException()
    {
    }

    public ActorKilledException(string message)
        : base(message)
    {
    }

    public ActorKilledException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
