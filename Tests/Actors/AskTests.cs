using RnnCluster.Actors;
using RnnCluster.TestKit;
using RnnCluster.Tests.Actors.Support;

namespace RnnCluster.Tests.Actors;

public sealed class AskTests
{
    private sealed class Echo : ReceiveActor
    {
        public Echo()
        {
            Receive<string>(s => s != "silent", s => Sender.Tell(s == "number" ? 42 : s.ToUpperInvariant()));
            Receive<string>(_ => { });
        }
    }

    [Fact]
    public async Task Ask_completes_with_the_reply()
    {
        await using var kit = new TestKit.TestKit();
        var echo = kit.Sys.ActorOf(Props.Create(() => new Echo()));

        Assert.Equal("HI", await echo.Ask<string>("hi", TestKitSettings.DefaultTimeout));
    }

    [Fact]
    public async Task Ask_times_out_on_the_system_clock_with_a_specific_exception()
    {
        var clock = new ManualTimeProvider();
        await using var kit = new TestKit.TestKit(new ActorSystemOptions { TimeProvider = clock });
        var echo = kit.Sys.ActorOf(Props.Create(() => new Echo()), "echo");

        var ask = echo.Ask<string>("silent", TimeSpan.FromSeconds(5));
        clock.Advance(TimeSpan.FromSeconds(4));
        Assert.False(ask.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(1));

        var timeout = await Assert.ThrowsAsync<AskTimeoutException>(() => ask);
        Assert.Contains("rnn://test/user/echo", timeout.Message, StringComparison.Ordinal);
        Assert.Contains("String", timeout.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ask_is_cancelled_by_its_token()
    {
        var clock = new ManualTimeProvider();
        await using var kit = new TestKit.TestKit(new ActorSystemOptions { TimeProvider = clock });
        var echo = kit.Sys.ActorOf(Props.Create(() => new Echo()));
        using var cancel = new CancellationTokenSource();

        var ask = echo.Ask<string>("silent", TimeSpan.FromSeconds(5), cancel.Token);
        await cancel.CancelAsync();

        var cancelled = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ask);
        Assert.Equal(cancel.Token, cancelled.CancellationToken);
    }

    [Fact]
    public async Task A_reply_of_another_type_fails_the_Ask_with_a_clear_exception()
    {
        await using var kit = new TestKit.TestKit();
        var echo = kit.Sys.ActorOf(Props.Create(() => new Echo()), "echo");

        var wrong = await Assert.ThrowsAsync<AskReplyTypeException>(() => echo.Ask<string>("number", TestKitSettings.DefaultTimeout));

        Assert.Contains("expected a reply of type System.String but got System.Int32", wrong.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Forward_keeps_the_original_sender()
    {
        await using var kit = new TestKit.TestKit();
        var target = kit.CreateTestProbe();
        var forwarder = kit.Sys.ActorOf(Props.Create(() => new Forwarder(target.Ref)));
        var origin = kit.CreateTestProbe();

        origin.Send(forwarder, "via");

        await target.ExpectMsgAsync("via");
        Assert.Equal(origin.Ref, target.LastSender);
    }

    private sealed class Forwarder : ReceiveActor
    {
        public Forwarder(IActorRef target) => ReceiveAny(m => target.Forward(m));
    }
}
