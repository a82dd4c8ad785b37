using RnnCluster.Actors;
using RnnCluster.TestKit;
using RnnCluster.Tests.Actors.Support;

namespace RnnCluster.Tests.Actors;

public sealed class BoundedMailboxTests
{
    private sealed record Block(TaskCompletionSource Gate);

    /// <summary>Blocks on a gate (holding its mailbox) and reports every int it processes.</summary>
    private sealed class GatedConsumer : ReceiveActor
    {
        public GatedConsumer(IActorRef probe)
        {
            ReceiveAsync<Block>(async b =>
            {
                probe.Tell("blocked");
                await b.Gate.Task;
            });
            Receive<int>(i => probe.Tell(i));
        }
    }

    private static async Task<(TestProbe Probe, IActorRef Consumer, TaskCompletionSource Gate)> BlockedConsumerAsync(TestKit.TestKit kit, int capacity)
    {
        var probe = kit.CreateTestProbe();
        var consumer = kit.Sys.ActorOf(
            Props.Create(() => new GatedConsumer(probe.Ref)).WithMailbox(MailboxKind.Bounded(capacity)), "consumer");
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        consumer.Tell(new Block(gate), null);
        await probe.ExpectMsgAsync("blocked");
        return (probe, consumer, gate);
    }

    [Fact]
    public async Task SendAsync_waits_for_space_until_the_consumer_drains()
    {
        await using var kit = new TestKit.TestKit();
        var (probe, consumer, gate) = await BlockedConsumerAsync(kit, capacity: 2);

        await consumer.SendAsync(1, null);
        await consumer.SendAsync(2, null);
        var third = consumer.SendAsync(3, null).AsTask();
        var fourth = consumer.SendAsync(4, null).AsTask();
        Assert.False(third.IsCompleted, "the mailbox is full and its consumer is blocked");
        Assert.False(fourth.IsCompleted);

        gate.SetResult();

        await third.WaitAsync(TestKitSettings.DefaultTimeout);
        await fourth.WaitAsync(TestKitSettings.DefaultTimeout);
        for (var i = 1; i <= 4; i++)
        {
            await probe.ExpectMsgAsync(i, hint: "waiting senders are admitted in order");
        }
    }

    [Fact]
    public async Task A_plain_Tell_to_a_full_mailbox_goes_to_dead_letters_and_is_logged()
    {
        await using var kit = new TestKit.TestKit();
        var deadLetters = kit.SubscribeProbe<DeadLetter>();
        var (probe, consumer, gate) = await BlockedConsumerAsync(kit, capacity: 1);
        var sender = kit.CreateTestProbe("overflowing-sender");

        consumer.Tell(1, sender.Ref);
        consumer.Tell(2, sender.Ref);

        var dead = await deadLetters.ExpectMsgAsync<DeadLetter>();
        Assert.Equal((2, sender.Ref, consumer, "mailbox full"), (dead.Message, dead.Sender, dead.Recipient, dead.Reason));
        var log = Assert.Single(kit.Logs.Entries, e => e.EventId.Id == 11);
        Assert.Contains(consumer.Path.ToString(), log.Message, StringComparison.Ordinal);
        Assert.Contains("overflowing-sender", log.Message, StringComparison.Ordinal);
        Assert.Contains("Int32", log.Message, StringComparison.Ordinal);

        gate.SetResult();
        await probe.ExpectMsgAsync(1);
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task A_cancelled_SendAsync_never_delivers_its_message()
    {
        await using var kit = new TestKit.TestKit();
        var (probe, consumer, gate) = await BlockedConsumerAsync(kit, capacity: 1);
        await consumer.SendAsync(1, null);
        using var cancel = new CancellationTokenSource();

        var waiting = consumer.SendAsync(2, null, cancel.Token).AsTask();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        gate.SetResult();
        await probe.ExpectMsgAsync(1);
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task Waiting_senders_are_released_to_dead_letters_when_the_consumer_stops()
    {
        await using var kit = new TestKit.TestKit();
        var deadLetters = kit.SubscribeProbe<DeadLetter>();
        var (_, consumer, _) = await BlockedConsumerAsync(kit, capacity: 1);
        await consumer.SendAsync(1, null);
        var waiting = consumer.SendAsync(2, null).AsTask();

        kit.Sys.Stop(consumer);

        await waiting.WaitAsync(TestKitSettings.DefaultTimeout);
        var dead = await deadLetters.CollectAsync<DeadLetter>(2);
        Assert.Equal([1, 2], dead.Select(d => (int)d.Message).Order());
    }
}
