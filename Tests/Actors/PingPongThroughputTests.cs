using RnnCluster.Actors;
using RnnCluster.TestKit;

namespace RnnCluster.Tests.Actors;

public sealed class PingPongThroughputTests
{
    private const int Balls = 1_000;
    private const int HopsPerBall = 1_000;

    /// <summary>A ball in flight; it bounces until it has made <see cref="Remaining"/> more hops.</summary>
    private sealed record Ball(int Remaining);

    private sealed record Count;

    private sealed class Player : ReceiveActor
    {
        private long _received;

        public Player(IActorRef finished)
        {
            Receive<Ball>(ball =>
            {
                _received++;
                if (ball.Remaining > 1)
                {
                    Sender.Tell(new Ball(ball.Remaining - 1));
                }
                else
                {
                    finished.Tell("ball done");
                }
            });
            Receive<Count>(_ => Sender.Tell(_received));
        }
    }

    [Fact]
    public async Task A_million_messages_through_a_ping_pong_pair_arrive_without_loss()
    {
        await using var kit = new TestKit.TestKit();
        var finished = kit.CreateTestProbe();
        var ping = kit.Sys.ActorOf(Props.Create(() => new Player(finished.Ref)), "ping");
        var pong = kit.Sys.ActorOf(Props.Create(() => new Player(finished.Ref)), "pong");

        await finished.WithinAsync(TimeSpan.FromSeconds(20), async () =>
        {
            // Every hop is one message through a mailbox; a thousand balls keep both mailboxes busy.
            for (var i = 0; i < Balls; i++)
            {
                pong.Tell(new Ball(HopsPerBall), ping);
            }

            for (var i = 0; i < Balls; i++)
            {
                await finished.ExpectMsgAsync("ball done", hint: $"ball {i + 1} of {Balls}");
            }
        });

        var total = await ping.Ask<long>(new Count(), TestKitSettings.DefaultTimeout)
            + await pong.Ask<long>(new Count(), TestKitSettings.DefaultTimeout);
        Assert.Equal((long)Balls * HopsPerBall, total);
    }
}
