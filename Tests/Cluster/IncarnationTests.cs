using RnnCluster.Cluster;

namespace RnnCluster.Tests.Cluster;

public sealed class IncarnationTests
{
    private static readonly string[] WorkerRoles = ["worker"];
    private static readonly UniqueAddress First = new("node-a", 4100, 1);
    private static readonly UniqueAddress Restarted = new("node-a", 4100, 2);

    private static MembershipTable TableWithUp(UniqueAddress address)
    {
        var table = new MembershipTable();
        table.Join(address, WorkerRoles);
        table.MarkUp(address);
        return table;
    }

    [Fact]
    public void Late_messages_of_a_downed_incarnation_are_refused()
    {
        var table = TableWithUp(First);

        table.Down(First);

        Assert.False(table.IsAllowed(First));
        Assert.False(table.IsAllowed(new UniqueAddress("NODE-A", 4100, 1)));
    }

    [Fact]
    public void Messages_of_a_node_that_never_joined_are_refused()
    {
        var table = TableWithUp(First);

        Assert.False(table.IsAllowed(new UniqueAddress("node-b", 4100, 1)));
        Assert.False(table.IsAllowed(new UniqueAddress("node-a", 4101, 1)));
    }

    [Fact]
    public void A_downed_incarnation_cannot_join_again()
    {
        var table = TableWithUp(First);
        table.Down(First);

        var result = table.Join(First, WorkerRoles);

        Assert.False(result.Accepted);
        Assert.Empty(result.Events);
        Assert.Equal(
            "Join of node-a:4100#1 refused: incarnation 1 of node-a:4100 was downed or removed; a restarted node must join with a newer incarnation.",
            result.RefusalReason);
    }

    [Fact]
    public void An_incarnation_older_than_a_removed_one_cannot_join()
    {
        var table = TableWithUp(Restarted);
        table.Down(Restarted);
        table.Remove(Restarted);

        var result = table.Join(First, WorkerRoles);

        Assert.False(result.Accepted);
        Assert.False(table.IsAllowed(First));
    }

    [Fact]
    public void A_restarted_node_with_a_higher_incarnation_joins_after_its_predecessor_was_downed()
    {
        var table = TableWithUp(First);
        table.Down(First);

        var result = table.Join(Restarted, WorkerRoles);

        Assert.True(result.Accepted);
        Assert.Equal([new MemberJoined(new Member(Restarted, WorkerRoles, MemberStatus.Joining))], result.Events);
        Assert.True(table.IsAllowed(Restarted));
        Assert.False(table.IsAllowed(First));
    }

    [Fact]
    public void A_newer_incarnation_replaces_a_live_older_one_by_downing_it()
    {
        var table = TableWithUp(First);

        var result = table.Join(Restarted, WorkerRoles);

        Assert.True(result.Accepted);
        Assert.Equal(
            [
                new MemberDowned(new Member(First, WorkerRoles, MemberStatus.Down)),
                new MemberJoined(new Member(Restarted, WorkerRoles, MemberStatus.Joining)),
            ],
            result.Events);
        Assert.False(table.IsAllowed(First));
        Assert.True(table.IsAllowed(Restarted));
        Assert.Equal([MemberStatus.Down, MemberStatus.Joining], table.Members.Select(m => m.Status));
    }

    [Fact]
    public void An_older_incarnation_cannot_replace_a_live_newer_one()
    {
        var table = TableWithUp(Restarted);

        var result = table.Join(First, WorkerRoles);

        Assert.False(result.Accepted);
        Assert.Equal("Join of node-a:4100#1 refused: the newer incarnation node-a:4100#2 is already a member.", result.RefusalReason);
        Assert.True(table.IsAllowed(Restarted));
    }

    [Fact]
    public void Addresses_are_validated()
    {
        Assert.Throws<ArgumentException>(() => new UniqueAddress(" ", 4100, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new UniqueAddress("h", 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new UniqueAddress("h", 65536, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new UniqueAddress("h", 1, -1));
        Assert.Equal("h:1#5", new UniqueAddress("h", 1, 5).ToString());
    }
}
