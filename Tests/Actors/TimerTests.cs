using RnnCluster.Actors;
using RnnCluster.TestKit;
using RnnCluster.Tests.Actors.Support;

namespace RnnCluster.Tests.Actors;

public sealed class TimerTests
{
    private sealed record StartSingle(string Key, string Message, TimeSpan Delay);

    private sealed record StartPeriodic(string Key, string Message, TimeSpan Interval);

    private sealed record CancelTimer(string Key);

    private sealed record IsActive(string Key);

    private sealed record Block(TaskCompletionSource Gate);

    /// <summary>Starts and cancels timers on request; forwards every timer message to the probe.</summary>
    private sealed class TimerActor : ReceiveActor
    {
        public TimerActor(IActorRef probe)
        {
            Receive<StartSingle>(s =>
            {
                Context.Timers.StartSingleTimer(s.Key, s.Message, s.Delay);
                Sender.Tell("started");
            });
            Receive<StartPeriodic>(s =>
            {
                Context.Timers.StartPeriodicTimer(s.Key, s.Message, s.Interval);
                Sender.Tell("started");
            });
            Receive<CancelTimer>(c => Context.Timers.Cancel(c.Key));
            Receive<IsActive>(a => Sender.Tell(Context.Timers.IsTimerActive(a.Key)));
            Receive<Fail>(f => throw f.Exception);
            ReceiveAsync<Block>(async b =>
            {
                probe.Tell("blocked");
                await b.Gate.Task;
            });
            Receive<string>(m => probe.Tell(m));
        }
    }

    private static (TestKit.TestKit Kit, ManualTimeProvider Clock, TestProbe Probe, IActorRef Actor) Start()
    {
        var clock = new ManualTimeProvider();
        var kit = new TestKit.TestKit(new ActorSystemOptions { TimeProvider = clock });
        var probe = kit.CreateTestProbe();
        var actor = kit.Sys.ActorOf(Props.Create(() => new TimerActor(probe.Ref)), "timers");
        return (kit, clock, probe, actor);
    }

    [Fact]
    public async Task A_single_timer_fires_once_when_the_manual_clock_reaches_its_delay()
    {
        var (kit, clock, probe, actor) = Start();
        await using var _ = kit;
        probe.Send(actor, new StartSingle("k", "tick", TimeSpan.FromSeconds(5)));
        await probe.ExpectMsgAsync("started");

        clock.Advance(TimeSpan.FromSeconds(4.9));
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(50));
        clock.Advance(TimeSpan.FromSeconds(0.1));
        await probe.ExpectMsgAsync("tick");

        clock.Advance(TimeSpan.FromSeconds(60));
        probe.Send(actor, new IsActive("k"));
        Assert.False(await probe.ExpectMsgAsync<bool>());
    }

    [Fact]
    public async Task A_periodic_timer_fires_once_per_interval_until_cancelled()
    {
        var (kit, clock, probe, actor) = Start();
        await using var _ = kit;
        probe.Send(actor, new StartPeriodic("p", "tock", TimeSpan.FromSeconds(1)));
        await probe.ExpectMsgAsync("started");

        clock.Advance(TimeSpan.FromSeconds(3));
        for (var i = 0; i < 3; i++)
        {
            await probe.ExpectMsgAsync("tock");
        }

        probe.Send(actor, new IsActive("p"));
        Assert.True(await probe.ExpectMsgAsync<bool>());
        actor.Tell(new CancelTimer("p"), null);
        probe.Send(actor, new IsActive("p"));
        Assert.False(await probe.ExpectMsgAsync<bool>());
        clock.Advance(TimeSpan.FromSeconds(10));
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task Timers_are_cancelled_when_the_actor_stops_and_nothing_arrives_after_stop()
    {
        var (kit, clock, probe, actor) = Start();
        await using var _ = kit;
        var deadLetters = kit.SubscribeProbe<DeadLetter>();
        probe.Send(actor, new StartPeriodic("p", "tock", TimeSpan.FromSeconds(1)));
        await probe.ExpectMsgAsync("started");
        probe.Watch(actor);

        kit.Sys.Stop(actor);
        await probe.ExpectTerminatedAsync(actor);

        clock.Advance(TimeSpan.FromSeconds(10));
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
        await deadLetters.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(50), hint: "a cancelled timer sends nothing, not even to dead letters");
    }

    [Fact]
    public async Task Timers_are_cancelled_on_restart()
    {
        var (kit, clock, probe, actor) = Start();
        await using var _ = kit;
        var failures = kit.SubscribeProbe<ActorFailed>();
        probe.Send(actor, new StartPeriodic("p", "tock", TimeSpan.FromSeconds(1)));
        await probe.ExpectMsgAsync("started");

        actor.Tell(new Fail(new InvalidOperationException("restart")), null);
        await failures.ExpectMsgAsync<ActorFailed>();
        probe.Send(actor, new IsActive("p"));
        Assert.False(await probe.ExpectMsgAsync<bool>());

        clock.Advance(TimeSpan.FromSeconds(10));
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task A_timer_cancelled_after_it_fired_but_before_delivery_is_dropped()
    {
        var (kit, clock, probe, actor) = Start();
        await using var _ = kit;
        probe.Send(actor, new StartSingle("k", "tick", TimeSpan.FromSeconds(1)));
        await probe.ExpectMsgAsync("started");
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        actor.Tell(new Block(gate), null);
        await probe.ExpectMsgAsync("blocked");

        actor.Tell(new CancelTimer("k"), null);
        clock.Advance(TimeSpan.FromSeconds(1)); // the tick is queued behind the cancel
        actor.Tell("after", null);
        gate.SetResult();

        await probe.ExpectMsgAsync("after");
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public async Task The_system_scheduler_tells_once_after_the_delay_and_can_be_cancelled()
    {
        var clock = new ManualTimeProvider();
        await using var kit = new TestKit.TestKit(new ActorSystemOptions { TimeProvider = clock });
        var probe = kit.CreateTestProbe();
        var sender = kit.CreateTestProbe();

        kit.Sys.Scheduler.ScheduleTellOnce(TimeSpan.FromSeconds(2), probe.Ref, "hello", sender.Ref);
        var cancelled = kit.Sys.Scheduler.ScheduleTellOnce(TimeSpan.FromSeconds(2), probe.Ref, "never", null);
        cancelled.Cancel();

        clock.Advance(TimeSpan.FromSeconds(1));
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(50));
        clock.Advance(TimeSpan.FromSeconds(1));
        await probe.ExpectMsgAsync("hello");
        Assert.Equal(sender.Ref, probe.LastSender);
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(50));
        Assert.True(cancelled.IsCancellationRequested);
    }
}
