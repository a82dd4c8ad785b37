namespace RnnCluster.Cluster;

/// <summary>One node as the membership table sees it. Immutable: a transition yields a new member.</summary>
public sealed record Member
{
    public Member(UniqueAddress address, IReadOnlyList<string> roles, MemberStatus status)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(roles);
        foreach (var role in roles)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(role, nameof(roles));
        }

        Address = address;

        // A private copy: the caller's list could change under a member that is meant to be immutable.
        Roles = [.. roles];
        Status = status;
    }

    public UniqueAddress Address { get; }

    public IReadOnlyList<string> Roles { get; }

    public MemberStatus Status { get; }

    /// <summary>Joining, Up, Leaving or Exiting: the node is still part of the cluster.</summary>
    public bool IsLive => Status is MemberStatus.Joining or MemberStatus.Up or MemberStatus.Leaving or MemberStatus.Exiting;

    public bool HasRole(string role) => Roles.Contains(role, StringComparer.Ordinal);

    public Member WithStatus(MemberStatus status) => new(Address, Roles, status);

    // Records compare lists by reference; members are compared by value so events and tests can
    // use plain equality.
    public bool Equals(Member? other) =>
        other is not null && Address.Equals(other.Address) && Status == other.Status && Roles.SequenceEqual(other.Roles, StringComparer.Ordinal);

    public override int GetHashCode() => HashCode.Combine(Address, Status, Roles.Count);

    public void Deconstruct(out UniqueAddress address, out IReadOnlyList<string> roles, out MemberStatus status)
    {
        address = Address;
        roles = Roles;
        status = Status;
    }

    public override string ToString() => $"{Address} {Status} [{string.Join(",", Roles)}]";
}
