using Akka.Dispatch;
using Akka.Event;

namespace RnnCluster.Parallel;

/// <summary>
/// The executor of <see cref="ParallelSystem.CoordinatorDispatcher"/>: one dedicated thread, named after
/// the dispatcher, that runs what the dispatcher hands it in order and sleeps when there is nothing.
/// Akka's PinnedDispatcher has such a thread too, but its idle thread first calls <c>Thread.Sleep(0)</c>
/// up to 50 times per core (its pool's spinning semaphore), a system call each: a cluster coordinator
/// goes idle several times per step, and those spins took ~14% of its CPU on the 2-core benchmark
/// machine, on cores the workers' compute needs (docs/all-reduce-performance.md, stop 31). This one
/// blocks on its lock's condition at once; a message then waits for the thread to wake (microseconds),
/// which a step of 100 ms does not notice.
/// </summary>
/// <remarks>Named in HOCON as a dispatcher's <c>executor</c> (Akka creates it from its type name).</remarks>
public sealed class DedicatedThreadExecutorConfigurator(Akka.Configuration.Config config, IDispatcherPrerequisites prerequisites)
    : ExecutorServiceConfigurator(config, prerequisites)
{
    public override ExecutorService Produce(string id) => new DedicatedThreadExecutor(id, Prerequisites.EventStream);
}

/// <summary>One thread and a queue; see <see cref="DedicatedThreadExecutorConfigurator"/>.</summary>
internal sealed class DedicatedThreadExecutor : ExecutorService
{
    private readonly Queue<IRunnable> _queue = new();
    private readonly object _gate = new();
    private readonly EventStream _eventStream;
    private bool _shutdown;

    public DedicatedThreadExecutor(string id, EventStream eventStream)
        : base(id)
    {
        _eventStream = eventStream;
        // Background: a dispatcher Akka never shuts down (a test's system left running) must not keep the process.
        Thread = new Thread(Run) { IsBackground = true, Name = id };
        Thread.Start();
    }

    /// <summary>The executor's thread (tests check where work ran).</summary>
    internal Thread Thread { get; }

    /// <exception cref="RejectedExecutionException">After <see cref="Shutdown"/>.</exception>
    public override void Execute(IRunnable run)
    {
        ArgumentNullException.ThrowIfNull(run);
        lock (_gate)
        {
            if (_shutdown)
            {
                throw new RejectedExecutionException($"the dispatcher {Id} is shut down");
            }

            _queue.Enqueue(run);
            if (_queue.Count == 1)
            {
                // Only the thread ever waits, and only on an empty queue.
                Monitor.Pulse(_gate);
            }
        }
    }

    /// <summary>Takes nothing more; the thread ends once it has run what was queued.</summary>
    public override void Shutdown()
    {
        lock (_gate)
        {
            _shutdown = true;
            Monitor.Pulse(_gate);
        }
    }

    private void Run()
    {
        while (true)
        {
            IRunnable next;
            lock (_gate)
            {
                while (_queue.Count == 0 && !_shutdown)
                {
                    Monitor.Wait(_gate);
                }

                if (!_queue.TryDequeue(out next!))
                {
                    return;
                }
            }

            try
            {
                next.Run();
            }
            catch (Exception e)
            {
                // An actor's own failure never gets here (its mailbox hands it to the supervisor); anything
                // else is logged as Akka's own executors do, and the thread goes on with the next item.
                _eventStream.Publish(new Error(e, Id, typeof(DedicatedThreadExecutor), $"a task on the dispatcher {Id} failed"));
            }
        }
    }
}
