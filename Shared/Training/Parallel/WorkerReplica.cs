using RnnCluster.Torch;

namespace RnnCluster.Training.Parallel;

/// <summary>What a worker needs to build its replica.</summary>
public sealed record WorkerOptions(int Index, TorchModelOptions Model, WorkerFaults? Faults, TimeProvider Time);

/// <summary>
/// One worker's model replica and what it does with a shard, free of actors so every worker actor
/// (in one process or on a cluster node) computes the same way: load the step's parameters, draw the
/// shard's dropout masks, run forward/backward over its streams or rows, refuse a non-finite gradient
/// (it must never reach the average), and build the reply. Call it from one thread at a time (the
/// worker's compute thread). A retried command for the shard it computed last is answered from the
/// last reply instead of computing again: the same inputs give the same bytes.
/// </summary>
public sealed class WorkerReplica : IDisposable
{
    private readonly WorkerOptions _options;
    private readonly TorchModel _replica;
    private readonly float[] _gradients;
    private (long Step, int Generation, int First, WindowGradients Reply)? _last;

    public WorkerReplica(WorkerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _replica = Tasks.TaskSetup.Create(options.Model);
        // Where the replica's gradients are not a managed array (a GPU, bf16) replies carry a copy.
        _gradients = _replica.GradientArray is null ? new float[_replica.ParameterCount] : [];
    }

    public int Index => _options.Index;

    /// <summary>One window of a language model: the reply and the step's scripted fault (test-only; null in production).</summary>
    public (WindowGradients Reply, WorkerFaultKind? Fault) Compute(ComputeWindow w)
    {
        ArgumentNullException.ThrowIfNull(w);
        if (Repeat(w.Step, w.Generation, w.FirstStream, w.Attempt) is { } again)
        {
            return (again, null);
        }

        var replica = _replica as RnnModel ?? throw new InvalidOperationException("worker has no language-model replica");
        _last = null; // the gradient buffer the last reply points to is about to change
        var fault = BeginStep(w.Step);
        var started = _options.Time.GetTimestamp();
        UseParameters(w.Parameters);
        replica.Reseed(DropoutSeeds.For(_options.Model.Seed, w.Step, w.FirstStream));
        replica.ZeroGradients();
        var finalState = new float[w.State.Length];
        var r = replica.ForwardBackward<float>(w.Inputs, w.Targets, w.Length, w.StreamCount, w.State, finalState, train: true, backward: true);
        var reply = Reply(w.Step, w.Generation, w.Attempt, r.LossSum, r.Tokens, finalState, fault, started);
        _last = (w.Step, w.Generation, w.FirstStream, reply);
        return (reply, fault);
    }

    /// <summary>The task counterpart of the window step: the shard's rows from the given parameters, no state.</summary>
    public (WindowGradients Reply, WorkerFaultKind? Fault) Compute(ComputeBatch b)
    {
        ArgumentNullException.ThrowIfNull(b);
        if (Repeat(b.Step, b.Generation, b.FirstRow, b.Attempt) is { } again)
        {
            return (again, null);
        }

        _last = null; // the gradient buffer the last reply points to is about to change
        var fault = BeginStep(b.Step);
        var started = _options.Time.GetTimestamp();
        UseParameters(b.Parameters);
        _replica.Reseed(DropoutSeeds.For(_options.Model.Seed, b.Step, b.FirstRow));
        _replica.ZeroGradients();
        var r = b.Shard.Compute(_replica, train: true, backward: true);
        var reply = Reply(b.Step, b.Generation, b.Attempt, r.LossSum, r.Count, [], fault, started);
        _last = (b.Step, b.Generation, b.FirstRow, reply);
        return (reply, fault);
    }

    public void Dispose() => _replica.Dispose();

    /// <summary>
    /// The last reply again when the command repeats the shard it answered (a retry after a lost reply):
    /// the gradient buffer it points to is unchanged until the next computed command.
    /// </summary>
    private WindowGradients? Repeat(long step, int generation, int first, int attempt) =>
        _last is { } last && last.Step == step && last.Generation == generation && last.First == first
            ? last.Reply with { Attempt = attempt }
            : null;

    /// <summary>
    /// The step's parameters become the replica's, shared rather than copied where the replica can share
    /// them (CPU float32): in one process that is the master's own buffer, which the coordinator changes
    /// only after every reply of the step is in; a straggler still computing then reads a mixture, and
    /// its late reply is refused as stale anyway.
    /// </summary>
    private void UseParameters(float[] parameters)
    {
        if (_replica.ParameterArray is not null)
        {
            _replica.AdoptParameters(parameters);
        }
        else
        {
            parameters.CopyTo(_replica.ParameterSpan);
        }
    }

    /// <summary>Applies the step's scripted fault that strikes before computing, and returns it.</summary>
    private WorkerFaultKind? BeginStep(long step)
    {
        var fault = _options.Faults?.Take(_options.Index, step);
        if (fault == WorkerFaultKind.Throw)
        {
            throw new InjectedWorkerFaultException($"injected fault in worker {_options.Index} at step {step}");
        }

        if (fault == WorkerFaultKind.Stall)
        {
            _options.Faults!.WaitWhileStalled();
        }

        return fault;
    }

    private WindowGradients Reply(long step, int generation, int attempt, double lossSum, long count, float[] finalState, WorkerFaultKind? fault, long started)
    {
        if (fault == WorkerFaultKind.NaNGradient)
        {
            _replica.GradientSpan[0] = float.NaN;
        }

        // Norm only (max 0 = no clipping): a NaN or infinite contribution must never reach the average.
        var norm = _replica.ClipGradientNorm(0);
        if (!double.IsFinite(norm) || !double.IsFinite(lossSum))
        {
            throw new NonFiniteGradientException($"worker {_options.Index}: gradient norm {norm}, loss {lossSum} at step {step}");
        }

        // One buffer reused for every reply — the replica's own gradient array where it has one, else a
        // copy: the coordinator reads it only while this step is open, and sends this worker its next
        // window (whose first act zeroes the gradients) only after it has reduced this one. Replies it
        // refuses (stale step or generation) are never read.
        var time = _options.Time;
        var computed = time.GetTimestamp();
        var gradients = _replica.GradientArray;
        if (gradients is null)
        {
            _replica.GradientSpan.CopyTo(_gradients);
            gradients = _gradients;
        }

        return new WindowGradients(
            step, generation, attempt, _options.Index, lossSum, count, gradients, finalState,
            time.GetElapsedTime(started, computed).TotalSeconds, time.GetElapsedTime(computed).TotalSeconds);
    }
}
