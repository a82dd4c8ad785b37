using System.Runtime.InteropServices;
using RnnCluster.Torch;

namespace RnnCluster.Training.Parallel;

/// <summary>What a worker needs to build its replica.</summary>
public sealed record WorkerOptions(int Index, TorchModelOptions Model, WorkerFaults? Faults, TimeProvider Time)
{
    /// <summary>The run's optimizer: a replica that all-reduces with its peers steps itself (null: the coordinator steps).</summary>
    public OptimizerOptions? Optimizer { get; init; }

    /// <summary>The run's <c>training.clip-norm</c>, for a replica that steps itself.</summary>
    public double ClipNorm { get; init; }

    /// <summary>All-reduce: start each layer's reduction as backward finishes it (<c>cluster.overlap-backward</c>).</summary>
    public bool OverlapBackward { get; init; } = true;
}

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
    private const int GradientSegment = 0;
    private const int CountSegment = 1;
    private const int FirstTappedSegment = 2;
    private const int RowMarksSegment = 1000;
    private const int EmbeddingRowsSegment = 1001;
    private Optimizer? _optimizer;
    // All-reduce mode: the step whose reduced, averaged and clipped gradient waits in the gradient buffer
    // for the coordinator's commit, and its norm; the step the parameters are at (-1: never seeded).
    private long _pending = -1;
    private double _pendingNorm = double.NaN;
    private long _appliedStep = -1;
    // ReduceRows' buffers, kept across steps: fresh ones were a 40 KB array and one of up to 560 KB per
    // step, the larger on the large-object heap, whose pages faulted in on the compute thread each time.
    private float[] _rowMarks = [];
    private int[] _touchedRows = [];
    private float[] _packedRows = [];

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
        if (w.Exchange is { } exchange)
        {
            var group = w.Group ?? throw new InvalidOperationException("an all-reduce step command reached the replica without its group");
            if (!Prepare(exchange, group, w.Parameters, w.Step))
            {
                return (Abandon(w.Step, w.Generation, w.Attempt), null);
            }

            replica.Reseed(DropoutSeeds.For(_options.Model.Seed, w.Step, w.FirstStream));
            replica.ZeroGradients();
            var states = new float[w.State.Length];
            // Each layer's gradients go on the wire the moment backward has finished them (decoder first).
            // Untied, the embedding's gradient is zero outside the rows this step looked up: only those travel.
            // A replica whose gradients are not a host float32 array (a GPU, bf16) reduces a host copy, whole.
            var onHost = replica.GradientArray is not null;
            var sparseEmbedding = onHost && !replica.Architecture.TieWeights;
            var overlap = new ReduceWhenReady(group, replica.GradientArray ?? [], w.Step, sparseEmbedding);
            replica.GradientSink = _options.OverlapBackward && onHost ? overlap : null;

            // Which rows this step looks up is known before forward: their marks travel now, beside the
            // compute, instead of after backward where every message lengthens the step.
            var marks = sparseEmbedding ? StartRowMarks(group, w.Step, replica.Architecture.VocabularySize, w.Inputs) : null;

            // So are the targets, and with them the token count every replica averages by: it travels beside
            // the compute too. (After backward it cost N - 1 more messages before the looked-up rows.)
            var counting = StartCount(group, w.Step, w.Targets);
            (double LossSum, long Tokens) computed;
            try
            {
                var result = replica.ForwardBackward<float>(w.Inputs, w.Targets, w.Length, w.StreamCount, w.State, states, train: true, backward: true);
                computed = (result.LossSum, result.Tokens);
            }
            finally
            {
                replica.GradientSink = null;
            }

            if (!_options.OverlapBackward && onHost)
            {
                foreach (var segment in replica.GradientSegments)
                {
                    overlap.GradientsReady(segment, duringBackward: false);
                }
            }

            counting.Check(computed.Tokens);
            var embedding = overlap.Embedding;
            var width = replica.Architecture.EmbeddingSize;
            var exchanged = Exchange(
                group, w.Step, w.Generation, w.Attempt, computed.LossSum, computed.Tokens, states, started, overlap.Pending,
                embedding is null || marks is null ? null : () => ReduceRows(group, w.Step, embedding, width, marks),
                counting);
            _last = (w.Step, w.Generation, w.FirstStream, exchanged);
            return (exchanged, null);
        }

        UseParameters(w.Parameters);
        replica.Reseed(DropoutSeeds.For(_options.Model.Seed, w.Step, w.FirstStream));
        replica.ZeroGradients();
        var finalState = new float[w.State.Length];
        var r = replica.ForwardBackward<float>(w.Inputs, w.Targets, w.Length, w.StreamCount, w.State, finalState, train: true, backward: true);
        var reply = Reply(w.Step, w.Generation, w.Attempt, r.LossSum, r.Tokens, finalState, fault, started, w.ReportNonFinite);
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
        if (b.Exchange is { } exchange)
        {
            var group = b.Group ?? throw new InvalidOperationException("an all-reduce step command reached the replica without its group");
            if (!Prepare(exchange, group, b.Parameters, b.Step))
            {
                return (Abandon(b.Step, b.Generation, b.Attempt), null);
            }

            _replica.Reseed(DropoutSeeds.For(_options.Model.Seed, b.Step, b.FirstRow));
            _replica.ZeroGradients();
            var counting = StartCount(group, b.Step, b.Shard.Targets);
            var computed = b.Shard.Compute(_replica, train: true, backward: true);
            counting.Check(computed.Count);
            var exchanged = Exchange(group, b.Step, b.Generation, b.Attempt, computed.LossSum, computed.Count, [], started, [], null, counting);
            _last = (b.Step, b.Generation, b.FirstRow, exchanged);
            return (exchanged, null);
        }

        UseParameters(b.Parameters);
        _replica.Reseed(DropoutSeeds.For(_options.Model.Seed, b.Step, b.FirstRow));
        _replica.ZeroGradients();
        var r = b.Shard.Compute(_replica, train: true, backward: true);
        var reply = Reply(b.Step, b.Generation, b.Attempt, r.LossSum, r.Count, [], fault, started, b.ReportNonFinite);
        _last = (b.Step, b.Generation, b.FirstRow, reply);
        return (reply, fault);
    }

    /// <summary>
    /// The replica's parameters and optimizer state after <paramref name="request"/>'s step, applying its
    /// commit first if it is still pending (a validation or checkpoint on the coordinator).
    /// </summary>
    /// <remarks>A replica at another step answers with its own step (the asker refuses it): never an exception that would restart it.</remarks>
    public ReplicaCopy Copy(FetchReplica request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ApplyCommit(request.Commit);
        if (_appliedStep != request.Step || _optimizer is null)
        {
            return new ReplicaCopy(_appliedStep, [], [], 0);
        }

        var copy = CopyRun();
        return request.ChecksumOnly ? copy with { Parameters = [], OptimizerState = [] } : copy;
    }

    /// <summary>The run as this replica holds it now (its pending step not applied), or null when it holds none.</summary>
    public ReplicaCopy? Held() => _appliedStep < 0 || _optimizer is null ? null : CopyRun();

    public void Dispose()
    {
        _optimizer?.Dispose();
        _replica.Dispose();
    }

    private ReplicaCopy CopyRun()
    {
        var optimizer = Optimizer;
        var parameters = new float[_replica.ParameterCount];
        _replica.ReadParameters<float>(parameters);
        var state = ModelTensors.OptimizerState(optimizer);
        return new ReplicaCopy(_appliedStep, parameters, state, optimizer.StepCount, ReplicaCopy.Hash(parameters, state, optimizer.StepCount));
    }

    private Optimizer Optimizer => _optimizer ??= new Optimizer(_replica, _options.Optimizer ?? throw new InvalidOperationException("an all-reduce replica needs the run's optimizer settings"));

    /// <summary>
    /// Before an all-reduce step: apply the commit of the previous step (or drop a reduced gradient the
    /// coordinator did not commit: its step is being computed again), adopt a seed from the coordinator,
    /// and take part in the generation's sync from the member holding the run. False: the sync was abandoned.
    /// </summary>
    private bool Prepare(ExchangeCommand exchange, IGradientExchange group, float[] seed, long step)
    {
        ApplyCommit(exchange.Commit);
        _pending = -1;
        if (seed.Length > 0)
        {
            ModelTensors.Load(_replica, Optimizer, seed, exchange.SeedOptimizer, exchange.SeedOptimizerSteps, "the coordinator's seed");
            _appliedStep = step - 1;
        }

        if (exchange.SyncSource < 0)
        {
            return _appliedStep == step - 1 ? true : throw new InvalidOperationException($"worker {_options.Index} holds the run at step {_appliedStep} and was sent no copy for step {step}");
        }

        try
        {
            // The source sends parameters, optimizer state and its step count; the others send nothing.
            var mine = exchange.SyncSource == group.Rank ? Pack(CopyRun()) : [];
            var all = group.AllGather(mine, step);
            if (exchange.SyncSource != group.Rank)
            {
                var packed = all[exchange.SyncSource];
                var n = (int)_replica.ParameterCount;
                ModelTensors.Load(_replica, Optimizer, packed.AsSpan(0, n), packed.AsSpan(n, packed.Length - n - 2), GetLong(packed.AsSpan(packed.Length - 2)), $"the run from rank {exchange.SyncSource}");
                _appliedStep = step - 1;
            }

            return true;
        }
        catch (GradientExchangeAbandonedException)
        {
            return false;
        }
    }

    /// <summary>Parameters, optimizer state, then the step count in the bits of two floats.</summary>
    private static float[] Pack(ReplicaCopy copy)
    {
        var packed = new float[copy.Parameters.Length + copy.OptimizerState.Length + 2];
        copy.Parameters.CopyTo(packed, 0);
        copy.OptimizerState.CopyTo(packed, copy.Parameters.Length);
        PutLong(packed.AsSpan(packed.Length - 2), copy.OptimizerSteps);
        return packed;
    }

    // A long travels bit for bit in two float slots of a float vector (never summed, only gathered).
    private static void PutLong(Span<float> two, long value) => MemoryMarshal.Write(MemoryMarshal.AsBytes(two), in value);

    private static long GetLong(ReadOnlySpan<float> two) => MemoryMarshal.Read<long>(MemoryMarshal.AsBytes(two));

    /// <summary>Applies the committed step if it is the one pending; any other pending gradient is dropped.</summary>
    private void ApplyCommit(StepCommit? commit)
    {
        if (commit is not null && _pending == commit.Step)
        {
            // A NaN rate: the coordinator's guard skipped the step (a non-finite norm is skipped anyway).
            if (double.IsFinite(_pendingNorm) && double.IsFinite(commit.LearningRate))
            {
                Optimizer.Step(_replica, commit.LearningRate);
            }

            _appliedStep = commit.Step;
            _pending = -1;
        }
    }

    /// <summary>
    /// The all-reduce of a computed step: the gradient sum, averaged by the token count (started before forward,
    /// <paramref name="counted"/>) and clipped in place as the coordinator's master would be; it stays pending
    /// until the commit. The reply carries no gradients.
    /// </summary>
    private WindowGradients Exchange(
        IGradientExchange group, long step, int generation, int attempt, double lossSum, long count, float[] finalState, long started, List<Task> inFlight, Action? alsoReduce, TokenCount counted)
    {
        var time = _options.Time;
        var computed = time.GetTimestamp();
        try
        {
            alsoReduce?.Invoke();
            if (inFlight.Count > 0)
            {
                // Reduced segment by segment as backward finished them: wait for the last ones.
                WaitAll(inFlight);
            }
            else
            {
                ReduceWhole(group, step);
            }

            var total = counted.Total(); // an abandonment surfaces as itself

            // A step whose every shard had no targets leaves the parameters as they are (as the master would).
            _pendingNorm = total == 0 ? double.NaN : _replica.ScaleAndClipGradients(1.0 / total, _options.ClipNorm);
            _pending = step;
        }
        catch (GradientExchangeAbandonedException)
        {
            return Abandon(step, generation, attempt);
        }

        return new WindowGradients(
            step, generation, attempt, _options.Index, lossSum, count, [], finalState,
            time.GetElapsedTime(started, computed).TotalSeconds, time.GetElapsedTime(computed).TotalSeconds, _pendingNorm);
    }

    /// <summary>
    /// Starts the all-reduce of this member's token count: the targets the loss will count (all but the
    /// ignored -1), known before forward, so the count travels beside the compute instead of after backward.
    /// </summary>
    private static TokenCount StartCount(IGradientExchange group, long step, long[] targets)
    {
        var ignored = 0;
        foreach (var t in targets)
        {
            if (t == -1)
            {
                ignored++;
            }
        }

        var mine = targets.Length - ignored;
        float[] sum = [mine];
        return new TokenCount(mine, sum, group.AllReduceAsync(sum, step, CountSegment));
    }

    /// <summary>Starts the all-reduce of a 0/1 mark per vocabulary row for the rows <paramref name="inputs"/> look up.</summary>
    private Task StartRowMarks(IGradientExchange group, long step, int rows, long[] inputs)
    {
        var marks = Reuse(ref _rowMarks, rows);
        marks.Clear();
        foreach (var id in inputs)
        {
            marks[checked((int)id)] = 1;
        }

        return group.AllReduceAsync(_rowMarks.AsMemory(0, rows), step, RowMarksSegment);
    }

    /// <summary>
    /// The embedding's gradient, row by row, for the rows any member looked up this step (the union, from
    /// the all-reduced 0/1 marks <paramref name="marking"/> brings in): packed in row order, reduced, and
    /// written back. Every other row is zero on every member, and the packed sums are those of the dense
    /// buffer, so the result is the same bytes as reducing the whole embedding.
    /// </summary>
    private void ReduceRows(IGradientExchange group, long step, GradientSegment embedding, int width, Task marking)
    {
        var rows = (int)(embedding.Count / width);
        marking.GetAwaiter().GetResult(); // an abandonment surfaces as itself, as from the synchronous calls
        var marks = _rowMarks.AsSpan(0, rows);
        var touched = Reuse(ref _touchedRows, rows);
        var count = 0;
        for (var r = 0; r < rows; r++)
        {
            if (marks[r] > 0)
            {
                touched[count++] = r;
            }
        }

        var packed = Reuse(ref _packedRows, count * width);
        var gradients = (_replica.GradientArray ?? throw new InvalidOperationException("row-wise reduction needs host gradients")).AsSpan((int)embedding.Offset, (int)embedding.Count);
        for (var i = 0; i < count; i++)
        {
            gradients.Slice(touched[i] * width, width).CopyTo(packed.Slice(i * width, width));
        }

        group.AllReduce(_packedRows.AsMemory(0, count * width), step, EmbeddingRowsSegment);
        for (var i = 0; i < count; i++)
        {
            packed.Slice(i * width, width).CopyTo(gradients.Slice(touched[i] * width, width));
        }
    }

    /// <summary>The first <paramref name="length"/> elements of <paramref name="buffer"/>, grown (never shrunk) to hold them.</summary>
    private static Span<T> Reuse<T>(ref T[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new T[length];
        }

        return buffer.AsSpan(0, length);
    }

    /// <summary>The whole gradient in one reduction: in place on a host float32 replica, else through a host copy.</summary>
    private void ReduceWhole(IGradientExchange group, long step)
    {
        if (_replica.GradientArray is { } host)
        {
            group.AllReduce(host, step, GradientSegment);
            return;
        }

        _replica.ReadGradients<float>(_gradients);
        group.AllReduce(_gradients, step, GradientSegment);
        _replica.WriteGradients<float>(_gradients);
    }

    /// <summary>Waits for segments in flight; the first abandonment (or any failure) abandons the step.</summary>
    private static void WaitAll(List<Task> inFlight)
    {
        try
        {
            Task.WaitAll([.. inFlight]);
        }
        catch (AggregateException e)
        {
            var abandoned = e.InnerExceptions.OfType<GradientExchangeAbandonedException>().FirstOrDefault();
            throw abandoned ?? new GradientExchangeAbandonedException($"a gradient segment failed: {e.InnerException?.Message}", e);
        }
    }

    private WindowGradients Abandon(long step, int generation, int attempt)
    {
        _pending = -1;
        return new WindowGradients(step, generation, attempt, _options.Index, 0, 0, [], [], Abandoned: true);
    }

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

    private WindowGradients Reply(long step, int generation, int attempt, double lossSum, long count, float[] finalState, WorkerFaultKind? fault, long started, bool reportNonFinite)
    {
        if (fault == WorkerFaultKind.NaNGradient)
        {
            _replica.GradientSpan[0] = float.NaN;
        }

        // Norm only (max 0 = no clipping): a NaN or infinite contribution must never reach the average
        // unless the coordinator asked for it (then its guard skips the whole step).
        var norm = _replica.ClipGradientNorm(0);
        if (!reportNonFinite && (!double.IsFinite(norm) || !double.IsFinite(lossSum)))
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

    /// <summary>
    /// A step's token count on its way: this member's count, and the all-reduce summing it into
    /// <paramref name="sum"/>. Token counts are summed as floats: exact while a step has fewer than 2^24
    /// targets (far more than a batch holds).
    /// </summary>
    private sealed class TokenCount(long mine, float[] sum, Task reducing)
    {
        /// <summary>A loss that counted other targets than were sent would average every replica wrongly: never go on.</summary>
        public void Check(long counted)
        {
            if (counted != mine)
            {
                throw new InvalidOperationException($"the loss counted {counted} targets, the count sent before forward {mine}");
            }
        }

        /// <summary>The step's total, once every member's count is in.</summary>
        public long Total()
        {
            reducing.GetAwaiter().GetResult();
            return (long)sum[0];
        }
    }

    /// <summary>
    /// Starts the all-reduce of each range of the gradient buffer the moment backward reports it final
    /// (the decoder, then the recurrent layers top-down, the embedding last): communication overlaps the
    /// rest of backward. Called on the backward thread; it only starts tasks.
    /// </summary>
    private sealed class ReduceWhenReady(IGradientExchange group, float[] gradients, long step, bool sparseEmbedding) : IGradientReadySink
    {
        public List<Task> Pending { get; } = [];

        /// <summary>The embedding's range, kept back for the row-wise reduction (sparse mode), once reported.</summary>
        public GradientSegment? Embedding { get; private set; }

        public void GradientsReady(GradientSegment segment, bool duringBackward)
        {
            if (sparseEmbedding && segment.Name == "encoder")
            {
                Embedding = segment;
                return;
            }

            Pending.Add(group.AllReduceAsync(gradients.AsMemory((int)segment.Offset, (int)segment.Count), step, FirstTappedSegment + Pending.Count));
        }
    }
}
