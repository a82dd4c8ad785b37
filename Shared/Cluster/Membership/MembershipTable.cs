namespace RnnCluster.Cluster;

/// <summary>
/// The cluster's membership as the leader (the coordinator) decides it: member states, which
/// incarnations are dead, and who is unreachable. Every change returns the events that describe it,
/// for the caller to publish. Pure and clock-free; not thread-safe: the leader actor owns it.
/// </summary>
public sealed class MembershipTable
{
    private static readonly MemberStatus[] LiveStatuses = [MemberStatus.Joining, MemberStatus.Up, MemberStatus.Leaving, MemberStatus.Exiting];

    // Live and Down members. Removed ones are dropped and remembered only as a dead incarnation,
    // so the table does not grow with every restart of a node.
    private readonly Dictionary<UniqueAddress, Member> _members = [];

    // Highest downed or removed incarnation per host:port; anything at or below it is dead for good.
    private readonly Dictionary<string, long> _deadIncarnations = new(StringComparer.OrdinalIgnoreCase);

    private readonly Dictionary<UniqueAddress, long> _unreachableSinceMs = [];

    /// <summary>Live and downed members, ordered by address so that every reader sees one order.</summary>
    public IReadOnlyList<Member> Members => [.. _members.Values.OrderBy(m => m.Address, AddressOrder.Instance)];

    public Member? Find(UniqueAddress address) => _members.GetValueOrDefault(address);

    public bool IsUnreachable(UniqueAddress address) => _unreachableSinceMs.ContainsKey(address);

    /// <summary>
    /// Whether messages from <paramref name="sender"/> may be processed: only a live member's.
    /// A downed or removed incarnation's late messages are refused, and so are those of a node that
    /// never joined (its join request is the one message handled without this check).
    /// </summary>
    public bool IsAllowed(UniqueAddress sender)
    {
        ArgumentNullException.ThrowIfNull(sender);
        return !IsDeadIncarnation(sender) && _members.TryGetValue(sender, out var member) && member.IsLive;
    }

    public JoinResult Join(UniqueAddress address, IReadOnlyList<string> roles)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(roles);
        if (_deadIncarnations.TryGetValue(address.Endpoint, out var dead) && dead >= address.Incarnation)
        {
            return JoinResult.Refused(
                $"Join of {address} refused: incarnation {dead} of {address.Endpoint} was downed or removed; a restarted node must join with a newer incarnation.");
        }

        if (_members.TryGetValue(address, out var existing) && existing.IsLive)
        {
            // Joins are retried over an at-most-once transport, so a repeat is normal and changes nothing.
            return JoinResult.Done([]);
        }

        var events = new List<MemberEvent>();
        var previous = _members.Values.FirstOrDefault(m => m.IsLive && m.Address.IsSameEndpoint(address));
        if (previous is not null)
        {
            if (previous.Address.Incarnation > address.Incarnation)
            {
                return JoinResult.Refused($"Join of {address} refused: the newer incarnation {previous.Address} is already a member.");
            }

            // The node restarted before the failure detector noticed: the old process is gone, and its
            // streams must be re-planned, exactly as if it had been downed for being unreachable.
            events.Add(new MemberDowned(MarkDown(previous)));
        }

        var joined = new Member(address, roles, MemberStatus.Joining);
        _members[address] = joined;
        events.Add(new MemberJoined(joined));
        return JoinResult.Done(events);
    }

    public IReadOnlyList<MemberEvent> MarkUp(UniqueAddress address) =>
        [new MemberUp(Move(address, MemberStatus.Up, MemberStatus.Joining))];

    public IReadOnlyList<MemberEvent> Leave(UniqueAddress address) =>
        [new MemberLeft(Move(address, MemberStatus.Leaving, MemberStatus.Up))];

    public IReadOnlyList<MemberEvent> Exiting(UniqueAddress address) =>
        [new MemberExited(Move(address, MemberStatus.Exiting, MemberStatus.Leaving))];

    public IReadOnlyList<MemberEvent> Down(UniqueAddress address)
    {
        var member = Require(address, MemberStatus.Down, LiveStatuses);
        return [new MemberDowned(MarkDown(member))];
    }

    public IReadOnlyList<MemberEvent> Remove(UniqueAddress address)
    {
        var member = Require(address, MemberStatus.Removed, MemberStatus.Exiting, MemberStatus.Down);
        _members.Remove(address);
        _unreachableSinceMs.Remove(address);
        RecordDead(address);
        return [new MemberRemoved(member.WithStatus(MemberStatus.Removed), member.Status)];
    }

    /// <summary>
    /// Records the failure detector's verdict. The first report starts the down-after clock; repeats
    /// change nothing. Reports about members that are not live are ignored: the verdict may race
    /// with the member being downed or removed, and it no longer matters then.
    /// </summary>
    public IReadOnlyList<MemberEvent> MarkUnreachable(UniqueAddress address, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (!IsAllowed(address) || !_unreachableSinceMs.TryAdd(address, nowMs))
        {
            return [];
        }

        return [new UnreachableMember(_members[address])];
    }

    public IReadOnlyList<MemberEvent> MarkReachable(UniqueAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return _unreachableSinceMs.Remove(address) ? [new ReachableMember(_members[address])] : [];
    }

    /// <summary>
    /// Downs every member unreachable for longer than <paramref name="downAfter"/> and returns them
    /// (status Down, in address order); publish a <see cref="MemberDowned"/> for each.
    /// </summary>
    public IReadOnlyList<Member> DownUnreachable(long nowMs, TimeSpan downAfter)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(downAfter, TimeSpan.Zero);
        var limitMs = downAfter.TotalMilliseconds;
        var overdue = _unreachableSinceMs
            .Where(entry => nowMs - entry.Value > limitMs)
            .Select(entry => entry.Key)
            .Order(AddressOrder.Instance)
            .ToList();
        return [.. overdue.Select(address => MarkDown(_members[address]))];
    }

    private Member Move(UniqueAddress address, MemberStatus target, MemberStatus from)
    {
        var member = Require(address, target, from);
        var moved = member.WithStatus(target);
        _members[address] = moved;
        return moved;
    }

    private Member MarkDown(Member member)
    {
        var downed = member.WithStatus(MemberStatus.Down);
        _members[member.Address] = downed;
        _unreachableSinceMs.Remove(member.Address);
        RecordDead(member.Address);
        return downed;
    }

    private Member Require(UniqueAddress address, MemberStatus target, params MemberStatus[] allowedFrom)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (!_members.TryGetValue(address, out var member))
        {
            throw IsDeadIncarnation(address)
                ? new InvalidOperationException($"Member {address} cannot go from {MemberStatus.Removed} to {target}.")
                : new InvalidOperationException($"{address} is not a member; it cannot go to {target}.");
        }

        if (!allowedFrom.Contains(member.Status))
        {
            throw new InvalidOperationException($"Member {address} cannot go from {member.Status} to {target}.");
        }

        return member;
    }

    private bool IsDeadIncarnation(UniqueAddress address) =>
        _deadIncarnations.TryGetValue(address.Endpoint, out var dead) && dead >= address.Incarnation;

    private void RecordDead(UniqueAddress address)
    {
        var endpoint = address.Endpoint;
        if (!_deadIncarnations.TryGetValue(endpoint, out var dead) || dead < address.Incarnation)
        {
            _deadIncarnations[endpoint] = address.Incarnation;
        }
    }

    private sealed class AddressOrder : IComparer<UniqueAddress>
    {
        public static readonly AddressOrder Instance = new();

        public int Compare(UniqueAddress? x, UniqueAddress? y)
        {
            if (x is null || y is null)
            {
                return (x is null).CompareTo(y is null);
            }

            var byHost = string.Compare(x.Host, y.Host, StringComparison.OrdinalIgnoreCase);
            return byHost != 0 ? byHost : x.Port != y.Port ? x.Port.CompareTo(y.Port) : x.Incarnation.CompareTo(y.Incarnation);
        }
    }
}
