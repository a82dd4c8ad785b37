using RnnCluster.Actors;

namespace RnnCluster.TestKit;

/// <summary>A message a probe received, with its sender (dead letters when it had none).</summary>
public sealed record ReceivedMessage(object Message, IActorRef Sender)
{
    public override string ToString() => $"{Message.GetType().Name} {Message} from {Sender.Path}";
}
