using RnnCluster.Actors.Dispatch;

namespace RnnCluster.Actors.Refs;

/// <summary>
/// What the runtime needs beyond <see cref="IActorRef"/>: the owning system and a channel for
/// system messages (watch, stop, failure). Every ref the runtime hands out implements it; a remote
/// ref will too, turning system messages into transport frames — local code only sees this seam.
/// </summary>
internal interface IInternalActorRef : IActorRef
{
    ActorSystem System { get; }

    void SendSystemMessage(SystemMessage message);
}
