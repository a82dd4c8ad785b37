using Microsoft.Extensions.Logging;

namespace RnnCluster.Actors;

/// <summary>
/// Every log line of the actor runtime. Event ids are stable (dashboards and tests match on them):
/// 1–9 system lifecycle, 10–19 delivery, 20–29 supervision, 30–39 actor lifecycle, 40+ runtime bugs.
/// </summary>
internal static partial class ActorsLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Actor system {SystemName} started at {Address}")]
    public static partial void SystemStarted(ILogger logger, string systemName, ActorAddress address);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Actor system {SystemName} terminated (cause: {Cause})")]
    public static partial void SystemTerminated(ILogger logger, string systemName, string cause);

    [LoggerMessage(EventId = 3, Level = LogLevel.Critical, Message = "Guardian {GuardianPath} failed; terminating actor system {SystemName}")]
    public static partial void GuardianFailed(ILogger logger, ActorPath guardianPath, string systemName, Exception exception);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Dead letter: {MessageType} from {Sender} to {Recipient} ({Reason})")]
    public static partial void DeadLetter(ILogger logger, string messageType, string sender, ActorPath recipient, string reason);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "Mailbox of {Recipient} is full (capacity {Capacity}): {MessageType} from {Sender} goes to dead letters; senders that must not lose messages use SendAsync")]
    public static partial void MailboxFull(ILogger logger, ActorPath recipient, int capacity, string messageType, string sender);

    [LoggerMessage(EventId = 12, Level = LogLevel.Debug, Message = "A DeadLetter event could not be delivered to {Recipient}; dropped to avoid a loop")]
    public static partial void DeadLetterDropped(ILogger logger, ActorPath recipient);

    [LoggerMessage(EventId = 13, Level = LogLevel.Debug, Message = "System message {MessageType} for stopped {Recipient} dropped")]
    public static partial void DeadSystemMessage(ILogger logger, string messageType, ActorPath recipient);

    [LoggerMessage(EventId = 14, Level = LogLevel.Debug, Message = "Unhandled {MessageType} in {ActorPath}")]
    public static partial void UnhandledMessage(ILogger logger, string messageType, ActorPath actorPath);

    [LoggerMessage(EventId = 20, Level = LogLevel.Error, Message = "Actor {ActorPath} failed processing {MessageType}")]
    public static partial void ActorFailed(ILogger logger, ActorPath actorPath, string messageType, Exception exception);

    [LoggerMessage(EventId = 21, Level = LogLevel.Information, Message = "Supervisor {SupervisorPath} applied {Directive} to {ChildPath} after {ExceptionType}")]
    public static partial void SupervisorDirective(ILogger logger, ActorPath supervisorPath, Directive directive, ActorPath childPath, string exceptionType);

    [LoggerMessage(EventId = 22, Level = LogLevel.Warning, Message = "{ChildPath} would exceed {MaxRetries} restarts within {Window}; stopping it")]
    public static partial void RestartLimitExceeded(ILogger logger, ActorPath childPath, int maxRetries, TimeSpan window);

    [LoggerMessage(EventId = 23, Level = LogLevel.Error, Message = "The decider of {SupervisorPath} threw; escalating")]
    public static partial void DeciderFailed(ILogger logger, ActorPath supervisorPath, Exception exception);

    [LoggerMessage(EventId = 24, Level = LogLevel.Warning, Message = "{ActorPath} failed while stopping or awaiting a supervisor decision; not supervised again")]
    public static partial void FailureWhileStopping(ILogger logger, ActorPath actorPath, Exception exception);

    [LoggerMessage(EventId = 25, Level = LogLevel.Debug, Message = "{SupervisorPath} ignored a failure of {ChildPath}, which is stopping")]
    public static partial void StaleFailure(ILogger logger, ActorPath supervisorPath, ActorPath childPath);

    [LoggerMessage(EventId = 30, Level = LogLevel.Error, Message = "{Hook} of {ActorPath} threw")]
    public static partial void LifecycleHookFailed(ILogger logger, string hook, ActorPath actorPath, Exception exception);

    [LoggerMessage(EventId = 31, Level = LogLevel.Debug, Message = "{ActorPath} stopped")]
    public static partial void ActorStopped(ILogger logger, ActorPath actorPath);

    [LoggerMessage(EventId = 40, Level = LogLevel.Critical, Message = "Actor runtime error in {ActorPath}; this is a bug in the runtime")]
    public static partial void RuntimeError(ILogger logger, ActorPath actorPath, Exception exception);
}
