namespace RnnCluster.Cluster;

// Tiny, inseparable family: what the membership table reports for the caller to publish on the
// actor EventStream. Each carries the member as it is after the change.

/// <summary>Base of every membership and reachability event.</summary>
public abstract record MemberEvent(Member Member);

public sealed record MemberJoined(Member Member) : MemberEvent(Member);

public sealed record MemberUp(Member Member) : MemberEvent(Member);

public sealed record MemberLeft(Member Member) : MemberEvent(Member);

public sealed record MemberExited(Member Member) : MemberEvent(Member);

public sealed record MemberRemoved(Member Member, MemberStatus PreviousStatus) : MemberEvent(Member);

public sealed record MemberDowned(Member Member) : MemberEvent(Member);

public sealed record UnreachableMember(Member Member) : MemberEvent(Member);

public sealed record ReachableMember(Member Member) : MemberEvent(Member);
