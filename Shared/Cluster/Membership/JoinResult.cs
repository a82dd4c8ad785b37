namespace RnnCluster.Cluster;

/// <summary>
/// Outcome of <see cref="MembershipTable.Join"/>. A refused join is an expected network event
/// (a late or replayed request of a dead incarnation), so it is a value, not an exception.
/// </summary>
public sealed record JoinResult(bool Accepted, string? RefusalReason, IReadOnlyList<MemberEvent> Events)
{
    internal static JoinResult Refused(string reason) => new(false, reason, []);

    internal static JoinResult Done(IReadOnlyList<MemberEvent> events) => new(true, null, events);
}
