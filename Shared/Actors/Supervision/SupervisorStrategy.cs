using RnnCluster.Actors.Cell;

namespace RnnCluster.Actors;

/// <summary>
/// How a parent handles its children's failures: a <see cref="Actors.Decider"/> picks the directive,
/// an optional <see cref="RestartLimit"/> bounds restarts, an optional <see cref="RestartBackoff"/>
/// spaces them out. <see cref="OneForOneStrategy"/> applies the directive to the failed child only,
/// <see cref="AllForOneStrategy"/> to all its siblings too.
/// </summary>
public abstract class SupervisorStrategy
{
    private protected SupervisorStrategy(Decider decider)
    {
        ArgumentNullException.ThrowIfNull(decider);
        Decider = decider;
    }

    /// <summary>One-for-one, <see cref="Decider.Default"/>, no limit, no back-off — Akka's default.</summary>
    public static SupervisorStrategy Default { get; } = new OneForOneStrategy(Decider.Default);

    /// <summary>Stops any child that fails.</summary>
    public static SupervisorStrategy Stopping { get; } = new OneForOneStrategy(Decider.From(_ => Directive.Stop));

    public Decider Decider { get; }

    /// <summary><c>null</c>: restart without limit.</summary>
    public RestartLimit? Limit { get; init; }

    /// <summary><c>null</c>: restart at once.</summary>
    public RestartBackoff? Backoff { get; init; }

    private protected abstract bool AppliesToAllChildren { get; }

    /// <summary>Runs on the parent's turn. Returns what was done, for the event stream.</summary>
    internal ActorFailed Handle(ActorCell parent, ChildRestartStats failed, Exception cause, object? message)
    {
        Directive directive;
        try
        {
            directive = Decider.Decide(cause);
        }
        catch (Exception deciderFailure) when (deciderFailure is not OutOfMemoryException)
        {
            // A broken decider must not lose the failure: hand it up, where it will be seen.
            directive = Directive.Escalate;
            ActorsLog.DeciderFailed(parent.Log, parent.Self.Path, deciderFailure);
        }

        var targets = AppliesToAllChildren ? parent.ChildStatsSnapshot() : [failed];
        switch (directive)
        {
            case Directive.Resume:
                // Even all-for-one resumes only the failed child: the others never stopped.
                parent.ResumeChild(failed.Child);
                return Result(Directive.Resume, false, null);

            case Directive.Stop:
                foreach (var target in targets)
                {
                    parent.StopChild(target.Child);
                }

                return Result(Directive.Stop, false, null);

            case Directive.Escalate:
                parent.EscalateFailure(failed.Child, cause);
                return Result(Directive.Escalate, false, null);

            default:
                return Restart(parent, failed, cause, targets);
        }

        ActorFailed Result(Directive applied, bool limitExceeded, TimeSpan? delay) =>
            new(failed.Child, parent.Self, cause, message, applied, limitExceeded, delay);

        ActorFailed Restart(ActorCell parent, ChildRestartStats failed, Exception cause, IReadOnlyList<ChildRestartStats> targets)
        {
            var now = parent.System.TimeProvider.GetUtcNow();
            var permitted = true;
            foreach (var target in targets)
            {
                // Every target records the restart (Akka's forall), so all-for-one windows count for each sibling.
                permitted &= target.RequestRestartPermission(now, Limit);
            }

            if (!permitted)
            {
                ActorsLog.RestartLimitExceeded(parent.Log, failed.Child.Path, Limit!.MaxRetries, Limit.Window);
                foreach (var target in targets)
                {
                    parent.StopChild(target.Child);
                }

                return Result(Directive.Stop, true, null);
            }

            TimeSpan? delay = Backoff is null
                ? null
                : Backoff.DelayFor(failed.NextBackoffAttempt(now, Backoff), parent.System.NextRandom());
            foreach (var target in targets)
            {
                parent.RestartChild(target.Child, cause, delay, suspendFirst: !ReferenceEquals(target, failed));
            }

            return Result(Directive.Restart, false, delay);
        }
    }
}
