using RnnCluster.Actors;
using RnnCluster.Torch;

namespace RnnCluster.Training.Parallel;

/// <summary>What a worker needs to build its replica.</summary>
public sealed record WorkerOptions(int Index, TorchModelOptions Model, WorkerFaults? Faults, TimeProvider Time);

/// <summary>
/// Holds one model replica. For each <see cref="ComputeWindow"/> it loads the given parameters, runs
/// forward/backward over its streams from the given states, checks the gradient is finite, and
/// replies with the gradient sum, loss, token count and final states. Any failure throws: the
/// supervisor restarts the worker with a fresh replica and the coordinator retries the shard.
/// </summary>
public sealed class WorkerActor : ReceiveActor
{
    private readonly WorkerOptions _options;
    private ComputeThread? _thread;
    private TorchModel? _replica;
    private float[] _gradients = [];
    private (IActorRef To, WindowGradients Reply)? _heldBack;

    public WorkerActor(WorkerOptions options)
    {
        _options = options;
        // The actor waits for its compute thread and handles nothing else meanwhile (ReceiveAsync).
        ReceiveAsync<ComputeWindow>(async w =>
        {
            var replyTo = Sender;
            var (reply, fault) = await _thread!.RunAsync(() => Compute(w)).ConfigureAwait(true);
            Deliver(replyTo, reply, fault);
        });
        ReceiveAsync<ComputeBatch>(async b =>
        {
            var replyTo = Sender;
            var (reply, fault) = await _thread!.RunAsync(() => Compute(b)).ConfigureAwait(true);
            Deliver(replyTo, reply, fault);
        });
    }

    protected internal override void PreStart()
    {
        _thread = new ComputeThread($"rnncluster-worker-{_options.Index}");
        _replica = Tasks.TaskSetup.Create(_options.Model);
        _gradients = _replica.GradientArray is null ? new float[_replica.ParameterCount] : [];
    }

    /// <summary>
    /// Dropout seed of one shard of one step. Masks depend only on what is computed, not on the
    /// replica's history: a resumed run and a retried shard draw exactly the masks they would have.
    /// </summary>
    internal static ulong DropoutSeed(ulong runSeed, long step, int firstStream)
    {
        var x = unchecked(runSeed ^ ((ulong)step * 0x9E3779B97F4A7C15UL) ^ ((ulong)firstStream * 0xC2B2AE3D27D4EB4FUL));
        x = unchecked((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL);
        x = unchecked((x ^ (x >> 27)) * 0x94D049BB133111EBUL);
        return x ^ (x >> 31);
    }

    protected internal override void PostStop()
    {
        // The thread first: the replica must not be freed under a step still computing.
        _thread?.Dispose();
        _thread = null;
        _replica?.Dispose();
        _replica = null;
    }

    /// <summary>Runs on the compute thread and touches no actor state: returns the reply and the step's scripted fault.</summary>
    private (WindowGradients Reply, WorkerFaultKind? Fault) Compute(ComputeWindow w)
    {
        var replica = _replica as RnnModel ?? throw new InvalidOperationException("worker has no language-model replica");
        var fault = BeginStep(w.Step);
        var started = _options.Time.GetTimestamp();
        UseParameters(replica, w.Parameters);
        replica.Reseed(DropoutSeed(_options.Model.Seed, w.Step, w.FirstStream));
        replica.ZeroGradients();
        var finalState = new float[w.State.Length];
        var r = replica.ForwardBackward<float>(w.Inputs, w.Targets, w.Length, w.StreamCount, w.State, finalState, train: true, backward: true);
        return (Reply(replica, w.Step, w.Generation, w.Attempt, r.LossSum, r.Tokens, finalState, fault, started), fault);
    }

    /// <summary>The task counterpart of the window step: the shard's rows from the given parameters, no state.</summary>
    private (WindowGradients Reply, WorkerFaultKind? Fault) Compute(ComputeBatch b)
    {
        var replica = _replica ?? throw new InvalidOperationException("worker has no replica");
        var fault = BeginStep(b.Step);
        var started = _options.Time.GetTimestamp();
        UseParameters(replica, b.Parameters);
        replica.Reseed(DropoutSeed(_options.Model.Seed, b.Step, b.FirstRow));
        replica.ZeroGradients();
        var r = b.Shard.Compute(replica, train: true, backward: true);
        return (Reply(replica, b.Step, b.Generation, b.Attempt, r.LossSum, r.Count, [], fault, started), fault);
    }

    /// <summary>
    /// The step's parameters become the replica's, shared rather than copied where the replica can share
    /// them (CPU float32): in one process that is the master's own buffer, which the coordinator changes
    /// only after every reply of the step is in; a straggler still computing then reads a mixture, and
    /// its late reply is refused as stale anyway.
    /// </summary>
    private static void UseParameters(TorchModel replica, float[] parameters)
    {
        if (replica.ParameterArray is not null)
        {
            replica.AdoptParameters(parameters);
        }
        else
        {
            parameters.CopyTo(replica.ParameterSpan);
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

    private WindowGradients Reply(TorchModel replica, long step, int generation, int attempt, double lossSum, long count, float[] finalState, WorkerFaultKind? fault, long started)
    {
        if (fault == WorkerFaultKind.NaNGradient)
        {
            replica.GradientSpan[0] = float.NaN;
        }

        // Norm only (max 0 = no clipping): a NaN or infinite contribution must never reach the average.
        var norm = replica.ClipGradientNorm(0);
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
        var gradients = replica.GradientArray;
        if (gradients is null)
        {
            replica.GradientSpan.CopyTo(_gradients);
            gradients = _gradients;
        }

        return new WindowGradients(
            step, generation, attempt, _options.Index, lossSum, count, gradients, finalState,
            time.GetElapsedTime(started, computed).TotalSeconds, time.GetElapsedTime(computed).TotalSeconds);
    }

    /// <summary>Sends a reply in the actor's turn, applying the test-only straggler faults.</summary>
    private void Deliver(IActorRef replyTo, WindowGradients reply, WorkerFaultKind? fault)
    {
        if (_heldBack is { } late)
        {
            _heldBack = null;
            // Empty gradients: the coordinator must refuse this stale reply; accepting it would fail loudly.
            late.To.Tell(late.Reply with { Gradients = [] }, Self);
        }

        switch (fault)
        {
            case WorkerFaultKind.NoReply:
                break;
            case WorkerFaultKind.ReplyLate:
                _heldBack = (replyTo, reply);
                break;
            default:
                replyTo.Tell(reply, Self);
                break;
        }
    }
}
