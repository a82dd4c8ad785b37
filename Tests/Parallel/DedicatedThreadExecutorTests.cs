using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;
using Microsoft.Extensions.Logging.Abstractions;
using RnnCluster.Parallel;

namespace RnnCluster.Tests.Parallel;

/// <summary>The coordinator's dispatcher: one dedicated thread that runs its work in order and blocks when idle.</summary>
public sealed class DedicatedThreadExecutorTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly ActorSystem _system = ParallelSystem.Create("dedicated-thread-tests", NullLoggerFactory.Instance);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _system.Terminate();

    [Fact]
    public async Task Every_message_to_an_actor_on_the_coordinator_dispatcher_runs_in_order_on_one_named_thread_outside_the_pool()
    {
        const int count = 500;
        var seen = new ConcurrentQueue<(int Value, int Thread, string? Name, bool Pool)>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var recorder = _system.ActorOf(Props.Create(() => new Recorder(seen, count, done)).WithDispatcher(ParallelSystem.CoordinatorDispatcher));

        // From several senders at once: each one's messages keep their order, whoever else is sending.
        await Task.WhenAll(Enumerable.Range(0, 4).Select(sender => Task.Run(() =>
        {
            for (var i = 0; i < count / 4; i++)
            {
                recorder.Tell(sender * 1000 + i);
            }
        })));
        await done.Task.WaitAsync(Wait);

        var runs = seen.ToArray();
        Assert.Equal(count, runs.Length);
        Assert.Single(runs.Select(r => r.Thread).Distinct());
        Assert.All(runs, r => Assert.False(r.Pool));
        Assert.All(runs, r => Assert.Equal(ParallelSystem.CoordinatorDispatcher, r.Name));
        for (var sender = 0; sender < 4; sender++)
        {
            var fromSender = runs.Where(r => r.Value / 1000 == sender).Select(r => r.Value % 1000).ToArray();
            Assert.Equal(Enumerable.Range(0, count / 4), fromSender);
        }
    }

    [Fact]
    public async Task Work_queued_before_a_shutdown_still_runs_and_work_after_it_is_refused()
    {
        var executor = Produce("shutdown-test");
        var ran = new ConcurrentQueue<int>();
        var release = new ManualResetEventSlim();
        var last = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // The first item holds the thread, so the rest are still queued when the shutdown comes.
        executor.Execute(new ActionRunnable(() =>
        {
            release.Wait(Wait);
            ran.Enqueue(0);
        }));
        executor.Execute(new ActionRunnable(() => ran.Enqueue(1)));
        executor.Execute(new ActionRunnable(() =>
        {
            ran.Enqueue(2);
            last.SetResult();
        }));

        executor.Shutdown();
        Assert.Throws<RejectedExecutionException>(() => executor.Execute(new ActionRunnable(() => ran.Enqueue(3))));
        release.Set();
        await last.Task.WaitAsync(Wait);

        Assert.Equal([0, 1, 2], ran);
    }

    [Fact]
    public async Task A_task_that_throws_is_published_as_an_error_naming_the_dispatcher_and_the_next_one_runs()
    {
        var errors = new ConcurrentQueue<Error>();
        var published = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var listener = _system.ActorOf(Props.Create(() => new ErrorListener(errors, published)));
        _system.EventStream.Subscribe(listener, typeof(Error));
        var executor = Produce("failing-test");
        var next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        executor.Execute(new ActionRunnable(() => throw new InvalidOperationException("boom")));
        executor.Execute(new ActionRunnable(next.SetResult));

        await next.Task.WaitAsync(Wait);
        await published.Task.WaitAsync(Wait);
        var error = Assert.Single(errors);
        Assert.Equal("failing-test", error.LogSource);
        Assert.Equal("boom", error.Cause.Message);
        Assert.Contains("failing-test", error.Message.ToString(), StringComparison.Ordinal);
        executor.Shutdown();
    }

    private ExecutorService Produce(string id) =>
        new DedicatedThreadExecutorConfigurator(_system.Settings.Config, _system.Dispatchers.Prerequisites).Produce(id);

    private sealed class Recorder : ReceiveActor
    {
        public Recorder(ConcurrentQueue<(int, int, string?, bool)> seen, int count, TaskCompletionSource done) =>
            Receive<int>(value =>
            {
                var thread = Thread.CurrentThread;
                seen.Enqueue((value, thread.ManagedThreadId, thread.Name, thread.IsThreadPoolThread));
                if (seen.Count == count)
                {
                    done.SetResult();
                }
            });
    }

    private sealed class ErrorListener : ReceiveActor
    {
        public ErrorListener(ConcurrentQueue<Error> errors, TaskCompletionSource published) =>
            Receive<Error>(e => e.LogSource == "failing-test", e =>
            {
                errors.Enqueue(e);
                published.TrySetResult();
            });
    }
}
