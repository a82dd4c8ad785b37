using RnnCluster.Actors.Dispatch;
using RnnCluster.Actors.Scheduling;

namespace RnnCluster.Actors.Cell;

internal sealed partial class ActorCell
{
    /// <summary>Processes one user message on the actor's turn.</summary>
    public void Invoke(Envelope envelope)
    {
        _current = envelope;
        var message = envelope.Message;
        try
        {
            switch (message)
            {
                case TimerMessage timer:
                    if (_timers is null || !_timers.TryTakeDue(timer, out var payload))
                    {
                        return; // cancelled, replaced, or from an earlier incarnation
                    }

                    message = payload;
                    _current = new Envelope(payload, envelope.Sender);
                    break;

                case PoisonPill:
                    HandleTerminate();
                    return;

                case Kill:
                    throw new ActorKilledException($"{SelfRef.Path} received Kill.");

                case WatchedTerminated notice:
                    // Unwatched after the notification was queued: drop it, so Terminated arrives
                    // only for a watch that is still in force, and exactly once.
                    if (!_terminatedQueued.Remove(notice.Actor))
                    {
                        return;
                    }

                    message = new Terminated(notice.Actor);
                    _current = new Envelope(message, notice.Actor);
                    break;
            }

            _actor!.OnReceive(message);
        }
        catch (Exception exception)
        {
            HandleInvokeFailure(exception, message);
        }
        finally
        {
            if (_asyncTask is null)
            {
                _current = default;
            }
        }
    }

    /// <summary>Processes one system message on the actor's turn.</summary>
    public void SystemInvoke(SystemMessage message)
    {
        try
        {
            switch (message)
            {
                case Create:
                    HandleCreate();
                    break;
                case Terminate:
                    HandleTerminate();
                    break;
                case Recreate recreate:
                    FaultRecreate(recreate.Cause);
                    break;
                case Resume:
                    FaultResume();
                    break;
                case Suspend:
                    _suspendedByParent = true;
                    UpdateSuspension();
                    break;
                case Failed failed:
                    HandleFailed(failed);
                    break;
                case Watch watch:
                    AddWatcher(watch.Watcher);
                    break;
                case Unwatch unwatch:
                    RemoveWatcher(unwatch.Watcher);
                    break;
                case DeathWatchNotification notification:
                    WatchedActorTerminated(notification.Actor);
                    break;
                case AsyncHandlerCompleted completed:
                    HandleAsyncCompleted(completed.Task);
                    break;
                case RunContinuation continuation:
                    RunAsyncContinuation(continuation);
                    break;
            }
        }
        catch (Exception exception)
        {
            ActorsLog.RuntimeError(Log, SelfRef.Path, exception);
        }
    }

    private void HandleCreate()
    {
        try
        {
            _actor = NewActor();
            _actor.PreStart();
        }
        catch (Exception exception)
        {
            _actor = null;
            HandleInvokeFailure(new ActorInitializationException($"{SelfRef.Path} failed to start.", exception), null);
            return;
        }

        UpdateSuspension();
    }
}
