using RnnCluster.Actors;
using RnnCluster.Tests.Actors.Support;

namespace RnnCluster.Tests.Actors;

public sealed class ReceiveAsyncTests
{
    private sealed record Work(string Name, Task Gate);

    private sealed class AsyncWorker : ReceiveActor
    {
        private int _state;

        public AsyncWorker(IActorRef probe)
        {
            ReceiveAsync<Work>(async (work, cancellationToken) =>
            {
                probe.Tell("start " + work.Name);
                _state++;
                await work.Gate.WaitAsync(cancellationToken);
                _state++;

                // After the await we are back on the actor's turn: Sender and Self still refer to this message.
                Sender.Tell("done " + work.Name + " state " + _state);
                if (work.Name == "faulty")
                {
                    throw new InvalidOperationException("async failure");
                }
            });
            Receive<int>(i => probe.Tell(i));
        }

        protected override void PostStop() => Context.System.EventStream.Publish("stopped");
    }

    [Fact]
    public async Task No_other_message_is_processed_until_the_task_completes()
    {
        await using var kit = new TestKit.TestKit();
        var probe = kit.CreateTestProbe();
        var requester = kit.CreateTestProbe();
        var worker = kit.Sys.ActorOf(Props.Create(() => new AsyncWorker(probe.Ref)));
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        requester.Send(worker, new Work("a", gate.Task));
        worker.Tell(1, null);
        await probe.ExpectMsgAsync("start a");
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100), hint: "1 must wait for the async handler");

        gate.SetResult();

        await requester.ExpectMsgAsync("done a state 2");
        await probe.ExpectMsgAsync(1);
    }

    [Fact]
    public async Task A_faulted_task_is_a_failure_of_its_message()
    {
        await using var kit = new TestKit.TestKit();
        var failures = kit.SubscribeProbe<ActorFailed>();
        var probe = kit.CreateTestProbe();
        var worker = kit.Sys.ActorOf(Props.Create(() => new AsyncWorker(probe.Ref)));
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var work = new Work("faulty", gate.Task);

        worker.Tell(work, probe.Ref);
        await probe.ExpectMsgAsync("start faulty");
        gate.SetResult();

        var failed = await failures.ExpectMsgAsync<ActorFailed>();
        Assert.IsType<InvalidOperationException>(failed.Cause);
        Assert.Same(work, failed.Message);
        Assert.Equal(Directive.Restart, failed.Directive);
    }

    [Fact]
    public async Task Stopping_cancels_the_token_of_a_pending_handler()
    {
        await using var kit = new TestKit.TestKit();
        var stopped = kit.SubscribeProbe<string>();
        var probe = kit.CreateTestProbe();
        var worker = kit.Sys.ActorOf(Props.Create(() => new AsyncWorker(probe.Ref)));
        var never = new TaskCompletionSource();
        worker.Tell(new Work("forever", never.Task), null);
        await probe.ExpectMsgAsync("start forever");
        probe.Watch(worker);

        kit.Sys.Stop(worker);

        await probe.ExpectTerminatedAsync(worker);
        await stopped.ExpectMsgAsync("stopped");
    }
}
