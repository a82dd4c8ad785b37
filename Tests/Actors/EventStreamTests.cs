using RnnCluster.Actors;

namespace RnnCluster.Tests.Actors;

public sealed class EventStreamTests
{
    private abstract record MemberEvent(string Member);

    private sealed record MemberUp(string Member) : MemberEvent(Member);

    private sealed record MemberRemoved(string Member) : MemberEvent(Member);

    [Fact]
    public async Task Subscribers_receive_events_assignable_to_their_channel_until_they_unsubscribe()
    {
        await using var kit = new TestKit.TestKit();
        var all = kit.CreateTestProbe();
        var upOnly = kit.CreateTestProbe();
        Assert.True(kit.Sys.EventStream.Subscribe<MemberEvent>(all.Ref));
        Assert.False(kit.Sys.EventStream.Subscribe<MemberEvent>(all.Ref));
        kit.Sys.EventStream.Subscribe<MemberUp>(upOnly.Ref);

        kit.Sys.EventStream.Publish(new MemberUp("w1"));
        kit.Sys.EventStream.Publish(new MemberRemoved("w1"));

        await all.ExpectMsgAsync<MemberUp>(e => e.Member == "w1");
        await all.ExpectMsgAsync<MemberRemoved>();
        await upOnly.ExpectMsgAsync<MemberUp>();
        await upOnly.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(50));

        Assert.True(kit.Sys.EventStream.Unsubscribe(upOnly.Ref, typeof(MemberUp)));
        kit.Sys.EventStream.Publish(new MemberUp("w2"));
        await all.ExpectMsgAsync<MemberUp>(e => e.Member == "w2");
        await upOnly.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(50));
    }
}
