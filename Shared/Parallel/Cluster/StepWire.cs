using System.Runtime.InteropServices;
using Google.Protobuf;
using RnnCluster.DataPlane;
using RnnCluster.Training;
using StepProto = RnnCluster.Parallel.Cluster.Steps;

namespace RnnCluster.Parallel.Cluster;

/// <summary>
/// The step records as protobuf (<c>step.proto</c>), with float buffers as raw little-endian bytes
/// written into and read out of the message bytes directly (<see cref="ProtoFields"/>): one copy each
/// way. <see cref="StepCodec"/> wraps each in a tensor message of the data plane.
/// </summary>
public static class StepWire
{
    public static ByteString ToWire(Training.Parallel.ComputeWindow w) => Compose(w).ToByteString();

    /// <summary>The window's message, sized and ready to be written where the caller wants it (<see cref="StepCodec"/>: into a pooled payload).</summary>
    internal static FloatMessage Compose(Training.Parallel.ComputeWindow w)
    {
        var m = new StepProto.ComputeWindow
        {
            Step = w.Step,
            Generation = w.Generation,
            Attempt = w.Attempt,
            FirstStream = w.FirstStream,
            StreamCount = w.StreamCount,
            Length = w.Length,
            ReportNonFinite = w.ReportNonFinite,
        };
        m.Inputs.AddRange(w.Inputs);
        m.Targets.AddRange(w.Targets);
        m.Snapshot = ToWire(w.Snapshot);
        m.Exchange = ToWire(w.Exchange);
        return new FloatMessage(m, (StepProto.ComputeWindow.StateFieldNumber, w.State), (StepProto.ComputeWindow.ParametersFieldNumber, w.Parameters));
    }

    public static Training.Parallel.ComputeWindow FromWireWindow(ByteString bytes)
    {
        Span<(int Offset, int Length)> floats = stackalloc (int, int)[2];
        var m = ProtoFields.ParseExcept(
            bytes.Span, StepProto.ComputeWindow.Parser, [StepProto.ComputeWindow.StateFieldNumber, StepProto.ComputeWindow.ParametersFieldNumber], floats);
        var cells = (long)m.Length * m.StreamCount;
        if (m.Length < 1 || m.StreamCount < 1 || m.Inputs.Count != cells || m.Targets.Count != cells)
        {
            throw new FormatException($"ComputeWindow: {m.Inputs.Count} inputs and {m.Targets.Count} targets for length {m.Length} x {m.StreamCount} streams");
        }

        return new Training.Parallel.ComputeWindow(
            m.Step, m.Generation, m.Attempt, m.FirstStream, m.StreamCount, m.Length,
            [.. m.Inputs], [.. m.Targets], Floats(bytes, floats[0]), Floats(bytes, floats[1]), FromWire(m.Snapshot), FromWire(m.Exchange))
        {
            ReportNonFinite = m.ReportNonFinite,
        };
    }

    public static ByteString ToWire(Training.Parallel.ComputeBatch b) => Compose(b).ToByteString();

    internal static FloatMessage Compose(Training.Parallel.ComputeBatch b)
    {
        var m = new StepProto.ComputeBatch
        {
            Step = b.Step,
            Generation = b.Generation,
            Attempt = b.Attempt,
            FirstRow = b.FirstRow,
            SourceSteps = b.Shard.SourceSteps,
            TargetSteps = b.Shard.TargetSteps,
            ReportNonFinite = b.ReportNonFinite,
        };
        m.Sources.AddRange(b.Shard.Sources);
        m.Lengths.AddRange(b.Shard.Lengths);
        m.Targets.AddRange(b.Shard.Targets);
        m.DecoderInputs.AddRange(b.Shard.DecoderInputs);
        m.Snapshot = ToWire(b.Snapshot);
        m.Exchange = ToWire(b.Exchange);
        return new FloatMessage(m, (StepProto.ComputeBatch.ParametersFieldNumber, b.Parameters));
    }

    public static Training.Parallel.ComputeBatch FromWireBatch(ByteString bytes)
    {
        Span<(int Offset, int Length)> floats = stackalloc (int, int)[1];
        var m = ProtoFields.ParseExcept(bytes.Span, StepProto.ComputeBatch.Parser, [StepProto.ComputeBatch.ParametersFieldNumber], floats);
        var rows = m.Lengths.Count;
        if (rows < 1 || m.SourceSteps < 1 || m.Sources.Count != (long)m.SourceSteps * rows)
        {
            throw new FormatException($"ComputeBatch: {m.Sources.Count} source ids for {m.SourceSteps} steps x {rows} rows");
        }

        var shard = new Training.Tasks.TaskShard(m.SourceSteps, [.. m.Sources], [.. m.Lengths], m.TargetSteps, [.. m.Targets], [.. m.DecoderInputs]);
        return new Training.Parallel.ComputeBatch(m.Step, m.Generation, m.Attempt, m.FirstRow, shard, Floats(bytes, floats[0]), FromWire(m.Snapshot), FromWire(m.Exchange))
        {
            ReportNonFinite = m.ReportNonFinite,
        };
    }

    public static ByteString ToWire(Training.Parallel.WindowGradients g) => Compose(g).ToByteString();

    internal static FloatMessage Compose(Training.Parallel.WindowGradients g) => new(
        new StepProto.WindowGradients
        {
            Step = g.Step,
            Generation = g.Generation,
            Attempt = g.Attempt,
            WorkerIndex = g.WorkerIndex,
            LossSum = g.LossSum,
            Tokens = g.Tokens,
            ComputeSeconds = g.ComputeSeconds,
            CopySeconds = g.CopySeconds,
            Norm = g.Norm,
            Abandoned = g.Abandoned,
        },
        (StepProto.WindowGradients.GradientsFieldNumber, g.Gradients),
        (StepProto.WindowGradients.FinalStateFieldNumber, g.FinalState));

    public static Training.Parallel.WindowGradients FromWireGradients(ByteString bytes)
    {
        Span<(int Offset, int Length)> floats = stackalloc (int, int)[2];
        var m = ProtoFields.ParseExcept(
            bytes.Span, StepProto.WindowGradients.Parser, [StepProto.WindowGradients.GradientsFieldNumber, StepProto.WindowGradients.FinalStateFieldNumber], floats);
        return new Training.Parallel.WindowGradients(
            m.Step, m.Generation, m.Attempt, m.WorkerIndex, m.LossSum, m.Tokens,
            Floats(bytes, floats[0]), Floats(bytes, floats[1]), m.ComputeSeconds, m.CopySeconds, m.Norm, m.Abandoned);
    }

    public static ByteString ToWire(Training.Parallel.FetchReplica f) => Compose(f).ToByteString();

    internal static FloatMessage Compose(Training.Parallel.FetchReplica f) => new(new StepProto.FetchReplica
    {
        Step = f.Step,
        HasCommit = f.Commit is not null,
        CommitStep = f.Commit?.Step ?? 0,
        CommitLearningRate = f.Commit?.LearningRate ?? 0,
        ChecksumOnly = f.ChecksumOnly,
    });

    public static Training.Parallel.FetchReplica FromWireFetchReplica(ByteString bytes)
    {
        var m = StepProto.FetchReplica.Parser.ParseFrom(bytes);
        return new Training.Parallel.FetchReplica(m.Step, m.HasCommit ? new Training.Parallel.StepCommit(m.CommitStep, m.CommitLearningRate) : null, m.ChecksumOnly);
    }

    public static ByteString ToWire(Training.Parallel.ReplicaCopy c) => Compose(c).ToByteString();

    internal static FloatMessage Compose(Training.Parallel.ReplicaCopy c) => new(
        new StepProto.ReplicaCopy { Step = c.Step, OptimizerSteps = c.OptimizerSteps, Checksum = c.Checksum },
        (StepProto.ReplicaCopy.ParametersFieldNumber, c.Parameters),
        (StepProto.ReplicaCopy.OptimizerStateFieldNumber, c.OptimizerState));

    public static Training.Parallel.ReplicaCopy FromWireReplicaCopy(ByteString bytes)
    {
        Span<(int Offset, int Length)> floats = stackalloc (int, int)[2];
        var m = ProtoFields.ParseExcept(
            bytes.Span, StepProto.ReplicaCopy.Parser, [StepProto.ReplicaCopy.ParametersFieldNumber, StepProto.ReplicaCopy.OptimizerStateFieldNumber], floats);
        return new Training.Parallel.ReplicaCopy(m.Step, Floats(bytes, floats[0]), Floats(bytes, floats[1]), m.OptimizerSteps, m.Checksum);
    }

    private static StepProto.Exchange? ToWire(Training.Parallel.ExchangeCommand? e)
    {
        if (e is null)
        {
            return null;
        }

        var m = new StepProto.Exchange
        {
            Rank = e.Rank,
            HasCommit = e.Commit is not null,
            CommitStep = e.Commit?.Step ?? 0,
            CommitLearningRate = e.Commit?.LearningRate ?? 0,
            SyncSource = e.SyncSource,
            SeedOptimizer = LittleEndianFloats.ToByteString(e.SeedOptimizer),
            SeedOptimizerSteps = e.SeedOptimizerSteps,
        };
        m.Members.AddRange(e.Members);
        return m;
    }

    private static Training.Parallel.ExchangeCommand? FromWire(StepProto.Exchange? m)
    {
        if (m is null)
        {
            return null;
        }

        if (m.Rank < 0 || m.Rank >= m.Members.Count || m.SyncSource < -1 || m.SyncSource >= m.Members.Count || m.SeedOptimizer.Length % sizeof(float) != 0)
        {
            throw new FormatException($"Exchange: rank {m.Rank} or sync source {m.SyncSource} outside {m.Members.Count} members, or {m.SeedOptimizer.Length} optimizer bytes");
        }

        return new Training.Parallel.ExchangeCommand(
            m.Rank, [.. m.Members], m.HasCommit ? new Training.Parallel.StepCommit(m.CommitStep, m.CommitLearningRate) : null,
            m.SyncSource, LittleEndianFloats.ToArray(m.SeedOptimizer.Span), m.SeedOptimizerSteps);
    }

    public static ByteString ToWire(Training.Parallel.FetchSnapshot f) => Compose(f).ToByteString();

    internal static FloatMessage Compose(Training.Parallel.FetchSnapshot f) => new(new StepProto.FetchSnapshot { Step = f.Step });

    public static Training.Parallel.FetchSnapshot FromWireFetch(ByteString bytes) => new(StepProto.FetchSnapshot.Parser.ParseFrom(bytes).Step);

    public static ByteString ToWire(Training.Parallel.SnapshotCopy c) => Compose(c).ToByteString();

    internal static FloatMessage Compose(Training.Parallel.SnapshotCopy c) => new(
        new StepProto.SnapshotCopy { Snapshot = ToWire(c.Snapshot) },
        (StepProto.SnapshotCopy.ParametersFieldNumber, c.Parameters));

    public static Training.Parallel.SnapshotCopy FromWireCopy(ByteString bytes)
    {
        Span<(int Offset, int Length)> floats = stackalloc (int, int)[1];
        var m = ProtoFields.ParseExcept(bytes.Span, StepProto.SnapshotCopy.Parser, [StepProto.SnapshotCopy.ParametersFieldNumber], floats);
        return new Training.Parallel.SnapshotCopy(FromWire(m.Snapshot) ?? throw new FormatException("SnapshotCopy without a snapshot"), Floats(bytes, floats[0]));
    }

    private static StepProto.RunSnapshot? ToWire(Training.Parallel.RunSnapshot? s) => s is null ? null : new StepProto.RunSnapshot
    {
        Step = s.Step,
        Fence = s.Fence,
        // Wrapped, not copied: a snapshot's arrays are never written after it is made (~100 KB per step command).
        TrainerState = UnsafeByteOperations.UnsafeWrap(s.TrainerState),
        OptimizerState = LittleEndianFloats.ToByteString(s.OptimizerState),
        OptimizerSteps = s.OptimizerSteps,
        Checksum = s.Checksum,
    };

    private static Training.Parallel.RunSnapshot? FromWire(StepProto.RunSnapshot? s)
    {
        if (s is null)
        {
            return null;
        }

        if (s.OptimizerState.Length % sizeof(float) != 0)
        {
            throw new FormatException($"RunSnapshot: {s.OptimizerState.Length} optimizer bytes are not whole floats");
        }

        return new Training.Parallel.RunSnapshot(s.Step, s.Fence, ParsedBytes(s.TrainerState), LittleEndianFloats.ToArray(s.OptimizerState.Span), s.OptimizerSteps, s.Checksum);
    }

    /// <summary>
    /// A bytes field's contents as an array of their own. The parser reads each bytes field into a fresh
    /// array that its ByteString wraps, and the message is dropped after decoding, so that array is taken
    /// as it is: the trainer state is ~100 KB per step command, and a copy was another large-object-heap
    /// array per step. Any other ByteString is copied.
    /// </summary>
    private static byte[] ParsedBytes(ByteString bytes) =>
        MemoryMarshal.TryGetArray(bytes.Memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : bytes.ToByteArray();

    /// <summary>A float field found by <see cref="ProtoFields.ParseExcept"/>, decoded straight from the message bytes.</summary>
    private static float[] Floats(ByteString bytes, (int Offset, int Length) field) =>
        LittleEndianFloats.ToArray(bytes.Span.Slice(field.Offset, field.Length));
}
