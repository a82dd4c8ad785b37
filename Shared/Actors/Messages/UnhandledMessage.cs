namespace RnnCluster.Actors;

/// <summary>Published on the <see cref="EventStream"/> when an actor does not handle a message.</summary>
public sealed record UnhandledMessage(object Message, IActorRef? Sender, IActorRef Recipient);
