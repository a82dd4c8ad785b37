namespace RnnCluster.Actors;

/// <summary>
/// An actor that declares typed handlers, in the order they are tried:
/// <code>
/// Receive&lt;Ping&gt;(p => Sender.Tell(new Pong(p.Id)));
/// ReceiveAsync&lt;Step&gt;(async (s, ct) => { ... });
/// </code>
/// The first matching handler wins; a message no handler matches goes to <see cref="ActorBase.Unhandled"/>.
/// </summary>
public abstract class ReceiveActor : ActorBase
{
    private readonly Stack<List<Func<object, bool>>> _behaviors = new();

    protected ReceiveActor()
    {
        _behaviors.Push([]);
    }

    /// <summary>Handles messages of type <typeparamref name="T"/>.</summary>
    protected void Receive<T>(Action<T> handler) => Receive(null, handler);

    /// <summary>Handles messages of type <typeparamref name="T"/> that satisfy <paramref name="predicate"/>.</summary>
    protected void Receive<T>(Func<T, bool>? predicate, Action<T> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Current.Add(message =>
        {
            if (message is T typed && (predicate is null || predicate(typed)))
            {
                handler(typed);
                return true;
            }

            return false;
        });
    }

    /// <summary>
    /// Handles messages of type <typeparamref name="T"/> asynchronously. Until the returned task
    /// completes the actor processes no other user message (system messages such as stop still
    /// run), and continuations after <c>await</c> run on the actor's turn, so they may touch its
    /// state — unless the handler opts out with <c>ConfigureAwait(false)</c>. A faulted task is a
    /// failure of this message and goes to the supervisor.
    /// </summary>
    protected void ReceiveAsync<T>(Func<T, Task> handler) => ReceiveAsync<T>((message, _) => handler(message));

    /// <summary>
    /// As <see cref="ReceiveAsync{T}(Func{T, Task})"/>; the token is cancelled when the actor stops or restarts.
    /// </summary>
    protected void ReceiveAsync<T>(Func<T, CancellationToken, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Current.Add(message =>
        {
            if (message is T typed)
            {
                Cell.RunAsyncHandler(handler, typed);
                return true;
            }

            return false;
        });
    }

    /// <summary>Handles any message not taken by an earlier handler.</summary>
    protected void ReceiveAny(Action<object> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Current.Add(message =>
        {
            handler(message);
            return true;
        });
    }

    /// <summary>Replaces the current handlers with those <paramref name="configure"/> declares.</summary>
    protected void Become(Action configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        _behaviors.Pop();
        PushBehavior(configure);
    }

    /// <summary>Pushes new handlers; <see cref="UnbecomeStacked"/> returns to the previous ones.</summary>
    protected void BecomeStacked(Action configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        PushBehavior(configure);
    }

    protected void UnbecomeStacked()
    {
        if (_behaviors.Count > 1)
        {
            _behaviors.Pop();
        }
    }

    protected internal sealed override void OnReceive(object message)
    {
        foreach (var handler in Current)
        {
            if (handler(message))
            {
                return;
            }
        }

        Unhandled(message);
    }

    private List<Func<object, bool>> Current => _behaviors.Peek();

    private void PushBehavior(Action configure)
    {
        _behaviors.Push([]);
        configure();
    }
}
