using RnnCluster.Cluster;

namespace RnnCluster.Tests.Cluster;

public sealed class MembershipTableTests
{
    private static readonly string[] WorkerRoles = ["worker"];
    private static readonly UniqueAddress W1 = new("node-a", 4100, 1);
    private static readonly UniqueAddress W2 = new("node-b", 4100, 1);

    private static MembershipTable TableWithUp(params UniqueAddress[] addresses)
    {
        var table = new MembershipTable();
        foreach (var address in addresses)
        {
            Assert.True(table.Join(address, WorkerRoles).Accepted);
            table.MarkUp(address);
        }

        return table;
    }

    private static Member Worker(UniqueAddress address, MemberStatus status) => new(address, WorkerRoles, status);

    [Fact]
    public void A_join_adds_a_joining_member_and_emits_member_joined()
    {
        var table = new MembershipTable();

        var result = table.Join(W1, WorkerRoles);

        Assert.True(result.Accepted);
        Assert.Null(result.RefusalReason);
        Assert.Equal([new MemberJoined(Worker(W1, MemberStatus.Joining))], result.Events);
        Assert.Equal([Worker(W1, MemberStatus.Joining)], table.Members);
        Assert.True(table.IsAllowed(W1));
    }

    [Fact]
    public void A_repeated_join_of_a_live_member_changes_nothing()
    {
        var table = TableWithUp(W1);

        var result = table.Join(W1, WorkerRoles);

        Assert.True(result.Accepted);
        Assert.Empty(result.Events);
        Assert.Equal(MemberStatus.Up, table.Find(W1)!.Status);
    }

    [Fact]
    public void The_graceful_path_emits_one_event_per_transition()
    {
        var table = new MembershipTable();
        table.Join(W1, WorkerRoles);

        Assert.Equal([new MemberUp(Worker(W1, MemberStatus.Up))], table.MarkUp(W1));
        Assert.Equal([new MemberLeft(Worker(W1, MemberStatus.Leaving))], table.Leave(W1));
        Assert.Equal([new MemberExited(Worker(W1, MemberStatus.Exiting))], table.Exiting(W1));
        Assert.Equal([new MemberRemoved(Worker(W1, MemberStatus.Removed), MemberStatus.Exiting)], table.Remove(W1));
        Assert.Empty(table.Members);
        Assert.False(table.IsAllowed(W1));
    }

    [Theory]
    [InlineData(MemberStatus.Joining)]
    [InlineData(MemberStatus.Up)]
    [InlineData(MemberStatus.Leaving)]
    [InlineData(MemberStatus.Exiting)]
    public void Every_live_state_can_be_downed_and_then_removed(MemberStatus status)
    {
        var table = new MembershipTable();
        table.Join(W1, WorkerRoles);
        if (status >= MemberStatus.Up)
        {
            table.MarkUp(W1);
        }

        if (status >= MemberStatus.Leaving)
        {
            table.Leave(W1);
        }

        if (status >= MemberStatus.Exiting)
        {
            table.Exiting(W1);
        }

        Assert.Equal([new MemberDowned(Worker(W1, MemberStatus.Down))], table.Down(W1));
        Assert.False(table.IsAllowed(W1));
        Assert.Equal([new MemberRemoved(Worker(W1, MemberStatus.Removed), MemberStatus.Down)], table.Remove(W1));
    }

    public static TheoryData<string, string> IllegalTransitions => new()
    {
        { "Leave a joining member", "Member node-a:4100#1 cannot go from Joining to Leaving." },
        { "Exit a joining member", "Member node-a:4100#1 cannot go from Joining to Exiting." },
        { "Remove a joining member", "Member node-a:4100#1 cannot go from Joining to Removed." },
        { "Up an up member", "Member node-a:4100#1 cannot go from Up to Up." },
        { "Remove an up member", "Member node-a:4100#1 cannot go from Up to Removed." },
        { "Down a downed member", "Member node-a:4100#1 cannot go from Down to Down." },
        { "Up a downed member", "Member node-a:4100#1 cannot go from Down to Up." },
        { "Up a removed member", "Member node-a:4100#1 cannot go from Removed to Up." },
        { "Down an unknown address", "node-z:1#1 is not a member; it cannot go to Down." },
    };

    [Theory]
    [MemberData(nameof(IllegalTransitions))]
    public void An_illegal_transition_throws_naming_the_member_and_both_states(string step, string message)
    {
        var table = new MembershipTable();
        table.Join(W1, WorkerRoles);
        Action act = step switch
        {
            "Leave a joining member" => () => table.Leave(W1),
            "Exit a joining member" => () => table.Exiting(W1),
            "Remove a joining member" => () => table.Remove(W1),
            "Up an up member" => () => { table.MarkUp(W1); table.MarkUp(W1); },
            "Remove an up member" => () => { table.MarkUp(W1); table.Remove(W1); },
            "Down a downed member" => () => { table.Down(W1); table.Down(W1); },
            "Up a downed member" => () => { table.Down(W1); table.MarkUp(W1); },
            "Up a removed member" => () => { table.Down(W1); table.Remove(W1); table.MarkUp(W1); },
            _ => () => table.Down(new UniqueAddress("node-z", 1, 1)),
        };

        var error = Assert.Throws<InvalidOperationException>(act);

        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void An_illegal_transition_leaves_the_member_unchanged()
    {
        var table = TableWithUp(W1);

        Assert.Throws<InvalidOperationException>(() => table.Exiting(W1));

        Assert.Equal(Worker(W1, MemberStatus.Up), table.Find(W1));
    }

    [Fact]
    public void Members_are_listed_in_address_order()
    {
        var table = TableWithUp(W2, W1, new UniqueAddress("node-a", 4000, 7));

        Assert.Equal(["node-a:4000#7", "node-a:4100#1", "node-b:4100#1"], table.Members.Select(m => m.Address.ToString()));
    }

    [Fact]
    public void Roles_are_copied_and_compared_by_value()
    {
        var roles = new List<string> { "worker", "gpu" };
        var member = new Member(W1, roles, MemberStatus.Up);
        roles.Add("changed");

        Assert.Equal(["worker", "gpu"], member.Roles);
        Assert.True(member.HasRole("gpu"));
        Assert.Equal(new Member(W1, ["worker", "gpu"], MemberStatus.Up), member);
        Assert.NotEqual(new Member(W1, ["gpu", "worker"], MemberStatus.Up), member);
    }
}
