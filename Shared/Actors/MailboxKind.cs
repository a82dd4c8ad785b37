namespace RnnCluster.Actors;

/// <summary>
/// How many user messages a mailbox holds. System messages (stop, restart, watch, terminated
/// notifications) are never bounded: they must get through to keep the hierarchy consistent.
/// </summary>
public sealed record MailboxKind
{
    private MailboxKind(int? capacity) => Capacity = capacity;

    /// <summary>Messages queue without limit (the default, as in Akka).</summary>
    public static MailboxKind Unbounded { get; } = new((int?)null);

    /// <summary>The most user messages queued at once; <c>null</c> for unbounded.</summary>
    public int? Capacity { get; }

    /// <summary>
    /// At most <paramref name="capacity"/> queued user messages. <see cref="IActorRef.SendAsync"/> waits
    /// for space (back-pressure); a plain <see cref="IActorRef.Tell"/> never blocks the caller, so on a
    /// full mailbox it goes to dead letters with a logged reason — a sender that must not lose
    /// messages uses <c>SendAsync</c>.
    /// </summary>
    public static MailboxKind Bounded(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        return new MailboxKind(capacity);
    }

    public override string ToString() => Capacity is { } c ? $"Bounded({c})" : "Unbounded";
}
