namespace RnnCluster.Actors;

/// <summary>
/// Published on the <see cref="EventStream"/> after a supervisor has handled a child's failure, so
/// tests and monitoring can observe every failure and what was done about it.
/// </summary>
/// <param name="Child">The actor that failed.</param>
/// <param name="Supervisor">Its parent, whose strategy decided.</param>
/// <param name="Cause">The exception.</param>
/// <param name="Message">The message being processed when it failed (not processed again); <c>null</c> for failures outside a message, e.g. in a constructor.</param>
/// <param name="Directive">The directive applied: <see cref="Directive.Stop"/> when a restart was refused by the <see cref="RestartLimit"/>.</param>
/// <param name="RestartLimitExceeded">True when the strategy chose restart but the limit turned it into stop.</param>
/// <param name="RestartDelay">The back-off before the restart, when one applies.</param>
public sealed record ActorFailed(
    IActorRef Child,
    IActorRef Supervisor,
    Exception Cause,
    object? Message,
    Directive Directive,
    bool RestartLimitExceeded,
    TimeSpan? RestartDelay);
