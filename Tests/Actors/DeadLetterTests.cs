using RnnCluster.Actors;
using RnnCluster.Tests.Actors.Support;

namespace RnnCluster.Tests.Actors;

public sealed class DeadLetterTests
{
    [Fact]
    public async Task PoisonPill_stops_after_the_messages_queued_before_it()
    {
        await using var kit = new TestKit.TestKit();
        var deadLetters = kit.SubscribeProbe<DeadLetter>();
        var probe = kit.CreateTestProbe();
        var actor = kit.Sys.ActorOf(ReportingActor.Props(probe.Ref, "a"));
        await probe.ExpectMsgAsync<Hook>(h => h.Name == "PreStart");
        probe.Watch(actor);

        actor.Tell(new Say("1"), null);
        actor.Tell(new Say("2"), null);
        actor.Tell(PoisonPill.Instance, null);
        actor.Tell(new Say("after the pill"), null);

        await probe.ExpectMsgAsync<Said>(s => s.Text == "1");
        await probe.ExpectMsgAsync<Said>(s => s.Text == "2");
        await probe.ExpectMsgAsync<Hook>(h => h.Name == "PostStop");
        await probe.ExpectTerminatedAsync(actor);
        var dead = await deadLetters.ExpectMsgAsync<DeadLetter>();
        Assert.Equal(new Say("after the pill"), dead.Message);
    }

    [Fact]
    public async Task A_message_to_a_stopped_actor_is_published_and_logged_with_sender_recipient_and_type()
    {
        await using var kit = new TestKit.TestKit();
        var deadLetters = kit.SubscribeProbe<DeadLetter>();
        var probe = kit.CreateTestProbe("the-sender");
        var actor = kit.Sys.ActorOf(ReportingActor.Props(kit.CreateTestProbe().Ref, "a"), "gone");
        probe.Watch(actor);
        kit.Sys.Stop(actor);
        await probe.ExpectTerminatedAsync(actor);

        actor.Tell(new Say("hello"), probe.Ref);

        var dead = await deadLetters.ExpectMsgAsync<DeadLetter>();
        Assert.Equal((new Say("hello"), probe.Ref, actor), (dead.Message, dead.Sender, dead.Recipient));
        Assert.Equal("recipient terminated", dead.Reason);
        var log = Assert.Single(kit.Logs.Entries, e => e.EventId.Id == 10);
        Assert.Equal("Dead letter: Say from rnn://test/system/the-sender to rnn://test/user/gone (recipient terminated)", log.Message);
    }

    [Fact]
    public async Task Telling_DeadLetters_directly_publishes_a_DeadLetter()
    {
        await using var kit = new TestKit.TestKit();
        var deadLetters = kit.SubscribeProbe<DeadLetter>();

        kit.Sys.DeadLetters.Tell("lost", null);

        var dead = await deadLetters.ExpectMsgAsync<DeadLetter>();
        Assert.Equal(("lost", (IActorRef?)null, kit.Sys.DeadLetters), (dead.Message, dead.Sender, dead.Recipient));
    }
}
