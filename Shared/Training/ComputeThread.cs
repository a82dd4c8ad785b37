using System.Collections.Concurrent;

namespace RnnCluster.Training;

/// <summary>
/// One long-lived thread that runs a replica's libtorch calls (a pinned dispatcher, in Akka's terms):
/// each worker actor has one, and so does a single-replica trainer.
/// On the shared thread pool each step could land on another thread, and libtorch's OpenMP gives
/// every new calling thread its own cold thread team and thread-locals; one thread per replica keeps
/// them warm (measured on 2 cores: W=1 was 11% slower than the single-replica trainer before this).
/// </summary>
/// <remarks>
/// The operating-system thread outlives the object: <see cref="Dispose"/> parks it, and the next compute
/// thread runs on it, renamed. A replica is replaced at every restart and, in a cluster worker, at
/// every coordinator change. A fresh thread each time got a fresh glibc malloc arena (another thread
/// usually took the ended one's first), and each arena kept a step's working set of freed memory resident
/// (the trim settings of <see cref="Torch.TorchRuntime.KeepsFreedMemory"/>): a surviving worker grew by
/// 8–10 MiB per replacement (docs/soak.md, finding 7). On the parked thread the next replica reuses what
/// the last one freed.
/// </remarks>
public sealed class ComputeThread : IDisposable
{
    private readonly ComputeThreadPark _park;
    private readonly Carrier _carrier;
    private readonly Lock _gate = new();
    private bool _disposed;

    /// <summary>Runs on a thread parked in <see cref="ComputeThreadPark.Shared"/> when there is one, else on a new thread.</summary>
    public ComputeThread(string name)
        : this(name, ComputeThreadPark.Shared)
    {
    }

    /// <summary>Runs on a thread parked in <paramref name="park"/> when there is one, else on a new thread; parks there.</summary>
    public ComputeThread(string name, ComputeThreadPark park)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(park);
        _park = park;
        if (park.Threads.TryPop(out var parked))
        {
            _carrier = parked;
            // Renamed on the thread itself, before any work of this lease: profiles and dumps name the replica.
            parked.Work.Add(() => Thread.CurrentThread.Name = name);
        }
        else
        {
            _carrier = new Carrier(name);
        }
    }

    /// <summary>The managed id of the thread the work runs on.</summary>
    public int ManagedThreadId => _carrier.Thread.ManagedThreadId;

    /// <summary>Runs <paramref name="body"/> on this thread; its exception (if any) faults the task.</summary>
    /// <exception cref="ObjectDisposedException">This compute thread was disposed.</exception>
    public Task<T> RunAsync<T>(Func<T> body)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            // The carrier may already run another lease's work: nothing of this one may reach it now.
            ObjectDisposedException.ThrowIf(_disposed, this);
            _carrier.Work.Add(() =>
            {
                try
                {
                    done.SetResult(body());
                }
                catch (Exception e)
                {
                    done.SetException(e);
                }
            });
        }

        return done.Task;
    }

    /// <summary>
    /// Lets queued work finish, then parks the thread; returns once it has (so nothing still uses the
    /// replica), except when called from the thread itself, which parks after the work it is running.
    /// </summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        var parked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var carrier = _carrier;
        var park = _park;
        carrier.Work.Add(() =>
        {
            park.Threads.Push(carrier);
            parked.SetResult();
        });
        if (Thread.CurrentThread != carrier.Thread)
        {
            // Blocking, as the thread's join was: the caller may free the replica the moment this returns.
            parked.Task.Wait();
        }
    }

    /// <summary>The thread and its queue; it runs until the process ends.</summary>
    internal sealed class Carrier
    {
        public Carrier(string name)
        {
            Thread = new Thread(Run) { IsBackground = true, Name = name };
            Thread.Start();
        }

        public BlockingCollection<Action> Work { get; } = new();

        public Thread Thread { get; }

        private void Run()
        {
            foreach (var action in Work.GetConsumingEnumerable())
            {
                action();
            }
        }
    }
}

/// <summary>Where ended <see cref="ComputeThread"/>s wait for the next one: one per process, or a test's own.</summary>
public sealed class ComputeThreadPark
{
    /// <summary>The process's park.</summary>
    public static ComputeThreadPark Shared { get; } = new();

    /// <summary>Threads parked here now.</summary>
    public int Count => Threads.Count;

    internal ConcurrentStack<ComputeThread.Carrier> Threads { get; } = new();
}
