namespace RnnCluster.Actors;

/// <summary>An <c>Ask</c> got no reply within its timeout.</summary>
public sealed class AskTimeoutException : Exception
{
    public AskTimeoutException()
    {
    }

    public AskTimeoutException(string message)
        : base(message)
    {
    }

    public AskTimeoutException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal static AskTimeoutException For(IActorRef target, object message, TimeSpan timeout) =>
        new($"Ask of {target.Path} with {message.GetType().Name} got no reply within {timeout.TotalMilliseconds:0.###} ms.");
}
