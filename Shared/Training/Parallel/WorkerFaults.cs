using System.Collections.Concurrent;

namespace RnnCluster.Training.Parallel;

/// <summary>What a scripted fault does to a worker's step.</summary>
public enum WorkerFaultKind
{
    /// <summary>The worker throws before computing (a bug, an OOM).</summary>
    Throw,

    /// <summary>The worker's gradient comes out NaN (a numerical blow-up).</summary>
    NaNGradient,

    /// <summary>The worker computes but its reply is lost (a straggler that never answers).</summary>
    NoReply,

    /// <summary>The worker's reply arrives only after its next window (a straggler that answers late).</summary>
    ReplyLate,

    /// <summary>The worker blocks until <see cref="WorkerFaults.ReleaseStalled"/> (a straggler that answers eventually).</summary>
    Stall,
}

/// <summary>
/// Test-only fault injection: a script of (worker, step) → fault, each consumed once per listed
/// occurrence. Production runs pass none. Thread-safe: workers consult it from their own turns.
/// </summary>
public sealed class WorkerFaults
{
    private readonly ConcurrentDictionary<(int Worker, long Step), ConcurrentQueue<WorkerFaultKind>> _script = new();
    private readonly ConcurrentDictionary<int, (long Step, WorkerFaultKind Kind)> _permanent = new();
    private readonly ManualResetEventSlim _stallGate = new(false);

    /// <summary>Lets stalled workers go on.</summary>
    public void ReleaseStalled() => _stallGate.Set();

    /// <summary>Blocks the calling worker until released (test hook; blocking a pool thread is acceptable here).</summary>
    internal void WaitWhileStalled() => _stallGate.Wait();

    /// <summary>Makes worker <paramref name="worker"/> fail <paramref name="times"/> times at <paramref name="step"/>.</summary>
    public WorkerFaults At(int worker, long step, WorkerFaultKind kind, int times = 1)
    {
        var queue = _script.GetOrAdd((worker, step), _ => new ConcurrentQueue<WorkerFaultKind>());
        for (var i = 0; i < times; i++)
        {
            queue.Enqueue(kind);
        }

        return this;
    }

    /// <summary>Makes worker <paramref name="worker"/> fail at every step from <paramref name="step"/> on (a worker that never recovers).</summary>
    public WorkerFaults From(int worker, long step, WorkerFaultKind kind)
    {
        _permanent[worker] = (step, kind);
        return this;
    }

    internal WorkerFaultKind? Take(int worker, long step)
    {
        if (_permanent.TryGetValue(worker, out var p) && step >= p.Step)
        {
            return p.Kind;
        }

        return _script.TryGetValue((worker, step), out var queue) && queue.TryDequeue(out var kind) ? kind : null;
    }
}

/// <summary>The exception an injected <see cref="WorkerFaultKind.Throw"/> raises.</summary>
public sealed class InjectedWorkerFaultException(string message) : Exception(message);

/// <summary>A worker's gradient was NaN or infinite: the contribution must never be applied.</summary>
public sealed class NonFiniteGradientException(string message) : Exception(message);
