using RnnCluster.Actors.Refs;

namespace RnnCluster.Actors;

public static class AskExtensions
{
    /// <summary>
    /// Sends <paramref name="message"/> with a temporary sender and completes with the first reply.
    /// </summary>
    /// <param name="target">The actor asked.</param>
    /// <param name="message">The request.</param>
    /// <param name="timeout">How long to wait (on the system's <see cref="TimeProvider"/>), or <see cref="Timeout.InfiniteTimeSpan"/>.</param>
    /// <param name="cancellationToken">Cancels the wait (not the request, which is already sent).</param>
    /// <exception cref="AskTimeoutException">No reply within <paramref name="timeout"/>.</exception>
    /// <exception cref="AskReplyTypeException">The reply is not a <typeparamref name="T"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    public static Task<T> Ask<T>(this IActorRef target, object message, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(message);
        if (timeout <= TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "An Ask timeout is positive or infinite.");
        }

        if (target is not IInternalActorRef internalTarget)
        {
            throw new ArgumentException($"{target} was not created by an actor system.", nameof(target));
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<T>(cancellationToken);
        }

        var promise = new PromiseActorRef<T>(internalTarget.System, target, message, timeout, cancellationToken);
        target.Tell(message, promise);
        return promise.Task;
    }
}
