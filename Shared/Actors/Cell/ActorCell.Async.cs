using RnnCluster.Actors.Dispatch;

namespace RnnCluster.Actors.Cell;

// ReceiveAsync: while a handler's task is pending the actor takes no user message (its turn state
// says "suspended"), and the handler's continuations are posted back as system messages through
// ActorSynchronizationContext, so they run on the actor's turn, one at a time, like Akka's
// ActorTaskScheduler. Stop and restart cancel the token handed to the handler and forget the task.
internal sealed partial class ActorCell
{
    private CancellationTokenSource _asyncCancellation = new();
    private ActorSynchronizationContext? _synchronizationContext;
    private Task? _asyncTask;
    private Envelope _asyncEnvelope;

    public void RunAsyncHandler<T>(Func<T, CancellationToken, Task> handler, T message)
    {
        var previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(_synchronizationContext ??= new ActorSynchronizationContext(this));
        Task task;
        try
        {
            task = handler(message, _asyncCancellation.Token);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }

        if (task.IsCompleted)
        {
            // Synchronous completion: a fault surfaces as an ordinary receive failure.
            task.GetAwaiter().GetResult();
            return;
        }

        _asyncTask = task;
        _asyncEnvelope = _current;
        UpdateSuspension();
        task.ContinueWith(
            static (completed, state) => ((Mailbox)state!).PostSystem(new AsyncHandlerCompleted(completed)),
            Mailbox,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private void HandleAsyncCompleted(Task task)
    {
        if (!ReferenceEquals(task, _asyncTask))
        {
            return; // from an incarnation that has since restarted or stopped
        }

        var envelope = _asyncEnvelope;
        _asyncTask = null;
        _asyncEnvelope = default;
        _current = default;
        UpdateSuspension();
        if (task.IsFaulted)
        {
            var exception = task.Exception!.InnerExceptions.Count == 1 ? task.Exception.InnerException! : task.Exception;
            HandleInvokeFailure(exception, envelope.Message);
        }
        else if (task.IsCanceled)
        {
            HandleInvokeFailure(new TaskCanceledException(task), envelope.Message);
        }
    }

    private void RunAsyncContinuation(RunContinuation continuation)
    {
        var previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(_synchronizationContext);
        _current = _asyncEnvelope;
        try
        {
            continuation.Callback(continuation.State);
        }
        catch (Exception exception)
        {
            // Async method builders capture exceptions into the task; a raw posted callback may not.
            HandleInvokeFailure(exception, _asyncEnvelope.Message);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
            if (_asyncTask is null)
            {
                _current = default;
            }
        }
    }

    private void CancelAsyncHandler()
    {
        _asyncTask = null;
        _asyncEnvelope = default;
        try
        {
            _asyncCancellation.Cancel();
        }
        catch (AggregateException exception)
        {
            // Callbacks registered by actor code threw; the actor is going away regardless.
            ActorsLog.LifecycleHookFailed(Log, "CancellationCallback", SelfRef.Path, exception);
        }
    }
}
