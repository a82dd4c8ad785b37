using RnnCluster.Actors;
using RnnCluster.Actors.Dispatch;
using RnnCluster.Actors.Refs;

namespace RnnCluster.Remote.Actors;

/// <summary>
/// An actor on another node. <see cref="Tell"/> hands the message to <see cref="RemoteMessaging"/>,
/// which serialises it through the message registry and sends it over the node's one connection
/// to that peer; callers cannot tell it from a local ref. Death watch is by membership: when the
/// cluster downs or removes the node, every watcher gets <see cref="Terminated"/> for it.
/// One instance per path (RemoteMessaging caches them), so reference equality is exact.
/// </summary>
internal sealed class RemoteActorRef : IInternalActorRef
{
    private readonly RemoteMessaging _messaging;

    internal RemoteActorRef(RemoteMessaging messaging, ActorPath path, string nodeAddress)
    {
        _messaging = messaging;
        Path = path;
        NodeAddress = nodeAddress;
    }

    public ActorPath Path { get; }

    /// <summary><c>rnn://system@host:port</c> of the node hosting the actor (the transport's peer key).</summary>
    public string NodeAddress { get; }

    public ActorSystem System => _messaging.System;

    public void Tell(object message, IActorRef? sender)
    {
        ArgumentNullException.ThrowIfNull(message);
        _messaging.Send(this, message, sender);
    }

    public ValueTask SendAsync(object message, IActorRef? sender, CancellationToken cancellationToken = default)
    {
        Tell(message, sender);
        return ValueTask.CompletedTask;
    }

    public void SendSystemMessage(SystemMessage message)
    {
        switch (message)
        {
            case Watch watch:
                _messaging.Watch(this, watch.Watcher);
                break;
            case Unwatch unwatch:
                _messaging.Unwatch(this, unwatch.Watcher);
                break;
            default:
                // Supervision never spans nodes: a remote actor's parent is on its own node.
                break;
        }
    }

    public override string ToString() => $"Actor[{Path}]";
}
