namespace RnnCluster.Actors;

/// <summary>
/// The recipe for an actor: how to make an instance (called again on every restart, so each
/// incarnation starts fresh), which mailbox it gets, and — optionally — the strategy it uses to
/// supervise its own children. Immutable; the <c>With*</c> methods return copies.
/// </summary>
public sealed class Props
{
    private Props(Func<ActorBase> factory, Type actorType, MailboxKind mailbox, SupervisorStrategy? supervisorStrategy)
    {
        Factory = factory;
        ActorType = actorType;
        Mailbox = mailbox;
        SupervisorStrategy = supervisorStrategy;
    }

    public Func<ActorBase> Factory { get; }

    public Type ActorType { get; }

    public MailboxKind Mailbox { get; }

    /// <summary>
    /// The strategy for this actor's children; when <c>null</c> the actor's
    /// <see cref="ActorBase.SupervisorStrategy"/> override (default: <see cref="Actors.SupervisorStrategy.Default"/>) applies.
    /// </summary>
    public SupervisorStrategy? SupervisorStrategy { get; }

    /// <summary>The factory runs on the actor's own mailbox turn, once per incarnation.</summary>
    public static Props Create<T>(Func<T> factory)
        where T : ActorBase
    {
        ArgumentNullException.ThrowIfNull(factory);
        return new Props(factory, typeof(T), MailboxKind.Unbounded, null);
    }

    public Props WithMailbox(MailboxKind mailbox)
    {
        ArgumentNullException.ThrowIfNull(mailbox);
        return new Props(Factory, ActorType, mailbox, SupervisorStrategy);
    }

    public Props WithSupervisorStrategy(SupervisorStrategy strategy)
    {
        ArgumentNullException.ThrowIfNull(strategy);
        return new Props(Factory, ActorType, Mailbox, strategy);
    }

    public override string ToString() => $"Props({ActorType.Name}, {Mailbox})";
}
