using RnnCluster.Actors.Dispatch;

namespace RnnCluster.Actors.Refs;

/// <summary>
/// The temporary sender of an Ask: its first reply completes the task. It is not registered
/// anywhere, so it costs no lookup and leaves nothing to clean up but its timer.
/// </summary>
internal sealed class PromiseActorRef<T> : IInternalActorRef
{
    private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly IActorRef _target;
    private readonly object _message;
    private readonly TimeSpan _timeout;
    private ITimer? _timer;
    private CancellationTokenRegistration _registration;

    public PromiseActorRef(ActorSystem system, IActorRef target, object message, TimeSpan timeout, CancellationToken cancellationToken)
    {
        System = system;
        Path = system.NewTempPath("ask");
        _target = target;
        _message = message;
        _timeout = timeout;
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            _timer = system.TimeProvider.CreateTimer(
                static state => ((PromiseActorRef<T>)state!).OnTimeout(), this, timeout, Timeout.InfiniteTimeSpan);
        }

        if (cancellationToken.CanBeCanceled)
        {
            _registration = cancellationToken.UnsafeRegister(
                static (state, token) => ((PromiseActorRef<T>)state!).OnCancelled(token), this);
        }
    }

    public ActorPath Path { get; }

    public ActorSystem System { get; }

    public Task<T> Task => _completion.Task;

    public void Tell(object message, IActorRef? sender)
    {
        ArgumentNullException.ThrowIfNull(message);
        var completed = message is T reply
            ? _completion.TrySetResult(reply)
            : _completion.TrySetException(AskReplyTypeException.For(_target, typeof(T), message));
        if (completed)
        {
            Cleanup();
        }
        else
        {
            System.PublishDeadLetter(message, sender, this, DeadLetterReasons.AskCompleted);
        }
    }

    public ValueTask SendAsync(object message, IActorRef? sender, CancellationToken cancellationToken = default)
    {
        Tell(message, sender);
        return ValueTask.CompletedTask;
    }

    public void SendSystemMessage(SystemMessage message) => System.HandleDeadSystemMessage(message, this);

    public override string ToString() => $"Actor[{Path}]";

    private void OnTimeout()
    {
        if (_completion.TrySetException(AskTimeoutException.For(_target, _message, _timeout)))
        {
            Cleanup();
        }
    }

    private void OnCancelled(CancellationToken token)
    {
        if (_completion.TrySetCanceled(token))
        {
            Cleanup();
        }
    }

    private void Cleanup()
    {
        // Benign race: a reply can arrive while the constructor is still assigning these; then the
        // timer fires later into an already-completed task and is a no-op.
        Interlocked.Exchange(ref _timer, null)?.Dispose();
        _registration.Dispose();
    }
}
