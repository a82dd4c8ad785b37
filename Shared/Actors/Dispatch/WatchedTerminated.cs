using RnnCluster.Actors.Refs;

namespace RnnCluster.Actors.Dispatch;

/// <summary>
/// The runtime's self-message that becomes <see cref="Terminated"/> on delivery. It travels through
/// the user queue (so it arrives after the dead actor's earlier messages) but is recognisable, so an
/// <c>Unwatch</c> in between can cancel it without touching user-sent messages.
/// </summary>
internal sealed record WatchedTerminated(IInternalActorRef Actor);
