namespace RnnCluster.Actors;

/// <summary>An <c>Ask</c> got a reply of a different type than it expected.</summary>
public sealed class AskReplyTypeException : Exception
{
    public AskReplyTypeException()
    {
    }

    public AskReplyTypeException(string message)
        : base(message)
    {
    }

    public AskReplyTypeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal static AskReplyTypeException For(IActorRef target, Type expected, object reply) =>
        new($"Ask of {target.Path} expected a reply of type {expected.FullName} but got {reply.GetType().FullName}: {reply}.");
}
