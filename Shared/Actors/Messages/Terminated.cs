namespace RnnCluster.Actors;

/// <summary>Delivered once per <see cref="IActorContext.Watch"/> when the watched actor has stopped.</summary>
public sealed record Terminated(IActorRef ActorRef);
