using RnnCluster.Cluster;

namespace RnnCluster.Tests.Cluster;

public sealed class ReachabilityTests
{
    private static readonly string[] WorkerRoles = ["worker"];
    private static readonly UniqueAddress W1 = new("node-a", 4100, 1);
    private static readonly UniqueAddress W2 = new("node-b", 4100, 1);
    private static readonly TimeSpan DownAfter = TimeSpan.FromSeconds(10);

    private static MembershipTable TableWithUp(params UniqueAddress[] addresses)
    {
        var table = new MembershipTable();
        foreach (var address in addresses)
        {
            table.Join(address, WorkerRoles);
            table.MarkUp(address);
        }

        return table;
    }

    private static Member Up(UniqueAddress address) => new(address, WorkerRoles, MemberStatus.Up);

    [Fact]
    public void Marking_unreachable_emits_unreachable_member_once()
    {
        var table = TableWithUp(W1);

        Assert.Equal([new UnreachableMember(Up(W1))], table.MarkUnreachable(W1, 1_000));
        Assert.Empty(table.MarkUnreachable(W1, 2_000));
        Assert.True(table.IsUnreachable(W1));
        Assert.True(table.IsAllowed(W1));
    }

    [Fact]
    public void Marking_reachable_emits_reachable_member_only_if_it_was_unreachable()
    {
        var table = TableWithUp(W1);

        Assert.Empty(table.MarkReachable(W1));
        table.MarkUnreachable(W1, 1_000);

        Assert.Equal([new ReachableMember(Up(W1))], table.MarkReachable(W1));
        Assert.False(table.IsUnreachable(W1));
    }

    [Fact]
    public void A_member_is_downed_only_once_unreachable_for_longer_than_down_after()
    {
        var table = TableWithUp(W1, W2);
        table.MarkUnreachable(W1, 1_000);

        Assert.Empty(table.DownUnreachable(11_000, DownAfter));

        Assert.Equal([new Member(W1, WorkerRoles, MemberStatus.Down)], table.DownUnreachable(11_001, DownAfter));
        Assert.False(table.IsAllowed(W1));
        Assert.True(table.IsAllowed(W2));
        Assert.Empty(table.DownUnreachable(60_000, DownAfter));
    }

    [Fact]
    public void The_down_after_clock_starts_at_the_first_unreachable_report()
    {
        var table = TableWithUp(W1);
        table.MarkUnreachable(W1, 1_000);
        table.MarkUnreachable(W1, 9_000);

        Assert.Single(table.DownUnreachable(11_001, DownAfter));
    }

    [Fact]
    public void Becoming_reachable_again_resets_the_down_after_clock()
    {
        var table = TableWithUp(W1);
        table.MarkUnreachable(W1, 1_000);
        table.MarkReachable(W1);
        table.MarkUnreachable(W1, 8_000);

        Assert.Empty(table.DownUnreachable(18_000, DownAfter));
        Assert.Single(table.DownUnreachable(18_001, DownAfter));
    }

    [Fact]
    public void Several_overdue_members_are_downed_in_address_order()
    {
        var table = TableWithUp(W1, W2);
        table.MarkUnreachable(W2, 0);
        table.MarkUnreachable(W1, 500);

        var downed = table.DownUnreachable(20_000, DownAfter);

        Assert.Equal([W1, W2], downed.Select(m => m.Address));
        Assert.All(downed, m => Assert.Equal(MemberStatus.Down, m.Status));
    }

    [Fact]
    public void Reachability_reports_about_downed_or_unknown_members_are_ignored()
    {
        var table = TableWithUp(W1);
        table.Down(W1);

        Assert.Empty(table.MarkUnreachable(W1, 1_000));
        Assert.Empty(table.MarkUnreachable(W2, 1_000));
        Assert.Empty(table.DownUnreachable(100_000, DownAfter));
    }

    [Fact]
    public void Downing_an_unreachable_member_clears_its_unreachability()
    {
        var table = TableWithUp(W1);
        table.MarkUnreachable(W1, 1_000);

        table.Down(W1);

        Assert.False(table.IsUnreachable(W1));
        Assert.Empty(table.MarkReachable(W1));
    }

    [Fact]
    public void A_negative_down_after_is_refused()
    {
        var table = TableWithUp(W1);

        Assert.Throws<ArgumentOutOfRangeException>(() => table.DownUnreachable(0, TimeSpan.FromSeconds(-1)));
    }
}
