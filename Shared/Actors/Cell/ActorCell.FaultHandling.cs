using RnnCluster.Actors.Dispatch;
using RnnCluster.Actors.Refs;

namespace RnnCluster.Actors.Cell;

// Failure, restart and stop. The rules, as in Akka:
// - A failing actor suspends its user messages and reports Failed(self, cause, message) to its
//   parent; it does nothing else until the parent answers with Resume, Recreate or Terminate.
// - Restart = PreRestart on the old instance (default: stop children, PostStop), wait until the
//   children it stopped are gone, then a new instance from Props and PostRestart. The failing
//   message is not re-processed; messages queued behind it are.
// - Stop = stop children, wait until they are gone, PostStop, then tell the parent and watchers.
// Children are not suspended recursively when their parent fails (Akka does): they keep working
// until the parent's restart or stop reaches them. Escalated children are resumed if the parent is.
internal sealed partial class ActorCell
{
    private bool _failed;
    private object? _failedMessage;
    private bool _suspendedByParent;
    private bool _terminating;
    private bool _terminated;
    private Exception? _recreateCause;
    private LocalActorRef? _escalatedChild;
    private (LocalActorRef Child, Exception Cause)? _pendingEscalation;

    /// <summary>The actor threw (or its async handler faulted): suspend and ask the parent.</summary>
    public void HandleInvokeFailure(Exception cause, object? message)
    {
        if (_terminating)
        {
            // Nobody can act on it any more; it must still be visible.
            ActorsLog.FailureWhileStopping(Log, SelfRef.Path, cause);
            return;
        }

        if (_failed)
        {
            // Already waiting for the parent's decision about an earlier failure.
            ActorsLog.FailureWhileStopping(Log, SelfRef.Path, cause);
            return;
        }

        _failed = true;
        _failedMessage = message;
        UpdateSuspension();
        ActorsLog.ActorFailed(Log, SelfRef.Path, message?.GetType().Name ?? "(no message)", cause);
        _parent.SendSystemMessage(new Failed(SelfRef, cause, message));
    }

    // ---- as a parent -------------------------------------------------------------------------

    private void HandleFailed(Failed failed)
    {
        if (_terminating || !TryGetStats(failed.Child, out var stats) || stats.Stopping)
        {
            // The child is being stopped anyway (by us or with us); the decision no longer matters.
            ActorsLog.StaleFailure(Log, SelfRef.Path, failed.Child.Path);
            return;
        }

        var outcome = Strategy.Handle(this, stats, failed.Cause, failed.Message);
        ActorsLog.SupervisorDirective(Log, SelfRef.Path, outcome.Directive, failed.Child.Path, failed.Cause.GetType().Name);
        System.EventStream.Publish(outcome);

        // Escalation is applied after publishing, so observers see the child's failure before the
        // parent's own failure that it causes (which its supervisor publishes, maybe on another thread).
        if (_pendingEscalation is { } escalation)
        {
            _pendingEscalation = null;
            _escalatedChild = escalation.Child;
            HandleInvokeFailure(escalation.Cause, null);
        }
    }

    public void ResumeChild(LocalActorRef child) => child.SendSystemMessage(Resume.Instance);

    public void RestartChild(LocalActorRef child, Exception cause, TimeSpan? delay, bool suspendFirst)
    {
        if (suspendFirst)
        {
            child.SendSystemMessage(Suspend.Instance);
        }

        if (delay is { } wait && wait > TimeSpan.Zero)
        {
            // The child stays suspended until then, so its messages wait in its mailbox.
            System.Scheduler.ScheduleSystemMessage(wait, child, new Recreate(cause));
        }
        else
        {
            child.SendSystemMessage(new Recreate(cause));
        }
    }

    /// <summary>Directive.Escalate: this actor fails with the child's exception.</summary>
    public void EscalateFailure(LocalActorRef child, Exception cause) => _pendingEscalation = (child, cause);

    // ---- as the failed child -----------------------------------------------------------------

    private void FaultResume()
    {
        if (_terminating)
        {
            return;
        }

        if (_actor is null && _recreateCause is null)
        {
            // Resume after a failed constructor: there is no instance to resume, so create one (Akka does the same).
            _failed = false;
            _suspendedByParent = false;
            HandleCreate();
            return;
        }

        _failed = false;
        _failedMessage = null;
        _suspendedByParent = false;
        UpdateSuspension();
        if (_escalatedChild is { } child)
        {
            _escalatedChild = null;
            ResumeChild(child);
        }
    }

    private void FaultRecreate(Exception cause)
    {
        if (_terminating)
        {
            return;
        }

        var failedActor = _actor;
        _timers?.CancelAll();
        CancelAsyncHandler();
        if (failedActor is not null)
        {
            try
            {
                failedActor.PreRestart(cause, _failedMessage);
            }
            catch (Exception exception)
            {
                ActorsLog.LifecycleHookFailed(Log, "PreRestart", SelfRef.Path, exception);
            }
        }

        _actor = null;
        _escalatedChild = null;
        _recreateCause = cause;
        UpdateSuspension();
        if (!AnyChildStopping())
        {
            FinishRecreate();
        }
    }

    private void FinishRecreate()
    {
        var cause = _recreateCause!;
        _recreateCause = null;
        _failed = false;
        _failedMessage = null;
        _suspendedByParent = false;
        try
        {
            _actor = NewActor();
            _actor.PostRestart(cause);
        }
        catch (Exception exception)
        {
            _actor = null;
            UpdateSuspension();
            HandleInvokeFailure(new ActorInitializationException($"{SelfRef.Path} failed to restart.", exception), null);
            return;
        }

        UpdateSuspension();
    }

    // ---- stopping ----------------------------------------------------------------------------

    private void HandleTerminate()
    {
        if (_terminating)
        {
            return;
        }

        _terminating = true;
        UpdateSuspension();
        _timers?.CancelAll();
        CancelAsyncHandler();
        CloseChildrenAndStopAll();
        if (ChildCount() == 0)
        {
            FinishTerminate();
        }
    }

    private void FinishTerminate()
    {
        if (_terminated)
        {
            return;
        }

        _terminated = true;
        if (_actor is not null)
        {
            try
            {
                _actor.PostStop();
            }
            catch (Exception exception)
            {
                ActorsLog.LifecycleHookFailed(Log, "PostStop", SelfRef.Path, exception);
            }
        }

        var (userLeft, systemLeft) = Mailbox.Close();
        foreach (var envelope in userLeft)
        {
            if (envelope.Message is not (Scheduling.TimerMessage or WatchedTerminated))
            {
                System.PublishDeadLetter(envelope.Message, envelope.Sender, SelfRef, DeadLetterReasons.Terminated);
            }
        }

        foreach (var message in systemLeft)
        {
            System.HandleDeadSystemMessage(message, SelfRef);
        }

        TellWatchersWeDied();
        UnwatchWatchedActors();
        System.EventStream.Unsubscribe(SelfRef);
        _actor = null;
        ActorsLog.ActorStopped(Log, SelfRef.Path);
        _parent.SendSystemMessage(new DeathWatchNotification(SelfRef));
    }
}
