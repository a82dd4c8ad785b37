using RnnCluster.Actors;
using RnnCluster.TestKit;

namespace RnnCluster.Tests.Actors;

public sealed class MessageOrderingTests
{
    private sealed record Numbered(int Sender, int Sequence);

    private sealed class OrderChecker : ReceiveActor
    {
        public OrderChecker(IActorRef probe, int senders, int perSender)
        {
            var next = new int[senders];
            var remaining = senders * perSender;
            Receive<Numbered>(m =>
            {
                if (m.Sequence != next[m.Sender])
                {
                    probe.Tell($"sender {m.Sender}: expected {next[m.Sender]} got {m.Sequence}");
                }

                next[m.Sender]++;
                if (--remaining == 0)
                {
                    probe.Tell("all in order");
                }
            });
        }
    }

    [Fact]
    public async Task Messages_from_each_sender_arrive_in_the_order_sent_even_with_concurrent_senders()
    {
        const int Senders = 4;
        const int PerSender = 20_000;
        await using var kit = new TestKit.TestKit();
        var probe = kit.CreateTestProbe();
        var checker = kit.Sys.ActorOf(Props.Create(() => new OrderChecker(probe.Ref, Senders, PerSender)));

        await Task.WhenAll(Enumerable.Range(0, Senders).Select(s => Task.Run(() =>
        {
            for (var i = 0; i < PerSender; i++)
            {
                checker.Tell(new Numbered(s, i), null);
            }
        })));

        Assert.Equal("all in order", await probe.ExpectMsgAsync<string>(timeout: TimeSpan.FromSeconds(10)));
    }
}
