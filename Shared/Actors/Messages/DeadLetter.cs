namespace RnnCluster.Actors;

/// <summary>
/// Published on the <see cref="EventStream"/> for a message that could not be delivered.
/// </summary>
/// <param name="Message">The undelivered message.</param>
/// <param name="Sender">Its sender, if any.</param>
/// <param name="Recipient">The actor it was meant for.</param>
/// <param name="Reason">Why it was not delivered, e.g. "recipient terminated" or "mailbox full".</param>
public sealed record DeadLetter(object Message, IActorRef? Sender, IActorRef Recipient, string Reason);
