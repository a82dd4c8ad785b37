namespace RnnCluster.Actors;

/// <summary>How an actor system ended: <see cref="Cause"/> is <c>null</c> after <see cref="ActorSystem.Terminate"/>,
/// or the exception that failed a guardian.</summary>
public sealed record ActorSystemTermination(Exception? Cause)
{
    public bool IsFailure => Cause is not null;
}
