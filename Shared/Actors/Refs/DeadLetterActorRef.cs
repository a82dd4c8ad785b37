using RnnCluster.Actors.Dispatch;

namespace RnnCluster.Actors.Refs;

/// <summary>The sink for undeliverable messages: logs and publishes <see cref="DeadLetter"/>.</summary>
internal sealed class DeadLetterActorRef(ActorSystem system, ActorPath path) : IInternalActorRef
{
    public ActorPath Path { get; } = path;

    public ActorSystem System { get; } = system;

    public void Tell(object message, IActorRef? sender)
    {
        ArgumentNullException.ThrowIfNull(message);
        System.PublishDeadLetter(message, sender, this, DeadLetterReasons.SentToDeadLetters);
    }

    public ValueTask SendAsync(object message, IActorRef? sender, CancellationToken cancellationToken = default)
    {
        Tell(message, sender);
        return ValueTask.CompletedTask;
    }

    public void SendSystemMessage(SystemMessage message) => System.HandleDeadSystemMessage(message, this);

    public override string ToString() => $"Actor[{Path}]";
}
