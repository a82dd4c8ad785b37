using System.Threading.Channels;
using RnnCluster.Actors;

namespace RnnCluster.TestKit;

/// <summary>The actor behind a <see cref="TestProbe"/>: writes everything it receives into a channel.</summary>
internal sealed class ProbeActor(ChannelWriter<ReceivedMessage> received) : ActorBase
{
    protected override void OnReceive(object message)
    {
        switch (message)
        {
            // Watching must happen on the probe's own turn: IActorContext is not thread-safe.
            case WatchCommand watch:
                Context.Watch(watch.Target);
                break;
            case UnwatchCommand unwatch:
                Context.Unwatch(unwatch.Target);
                break;
            default:
                // Unbounded channel: TryWrite only fails once completed, after the probe is disposed.
                received.TryWrite(new ReceivedMessage(message, Sender));
                break;
        }
    }

    protected override void PostStop() => received.TryComplete();

    internal sealed record WatchCommand(IActorRef Target);

    internal sealed record UnwatchCommand(IActorRef Target);
}
