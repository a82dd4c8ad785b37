using Google.Protobuf;
using RnnCluster.DataPlane;
using RnnCluster.Remote;
using Wire = RnnCluster.Remote.Protocol;

namespace RnnCluster.Training.Cluster;

/// <summary>
/// The closed set of messages a cluster run sends between processes, with their type ids (part of
/// the wire contract: never reuse or renumber one). Control messages are the generated protobuf
/// types themselves; the step messages keep their in-process records and are converted here, with
/// float buffers as raw little-endian bytes, written into and read out of the message bytes directly
/// (<see cref="ProtoFields"/>): one copy each way. (Each worker's ComputeWindow now copies the shared
/// parameters itself; that is still fewer copies than converting them once and then copying the
/// converted bytes into every message.)
/// </summary>
public static class ClusterProtocol
{
    public static MessageRegistry CreateRegistry()
    {
        return new MessageRegistryBuilder()
        .AddProtobuf<Wire.JoinRequest>(1)
        .AddProtobuf<Wire.Welcome>(2)
        .AddProtobuf<Wire.JoinRefused>(3)
        .AddProtobuf<Wire.LeaveRequest>(4)
        .AddProtobuf<Wire.LeaveAccepted>(5)
        .AddProtobuf<Wire.MemberDownedNotice>(6)
        .AddProtobuf<Wire.RunFinished>(7)
        .Add<Parallel.ComputeWindow>(20, ToWire, FromWireWindow)
        .Add<Parallel.WindowGradients>(21, ToWire, FromWireGradients)
        .AddProtobuf<Wire.CreateReplica>(22)
        .AddProtobuf<Wire.ReplicaReady>(23)
        .AddProtobuf<Wire.ReplicaFailed>(24)
        .AddProtobuf<Wire.ReplicaStopped>(25)
        .Add<Parallel.ComputeBatch>(26, ToWire, FromWireBatch)
        .Build();
    }

    internal static ByteString ToWire(Parallel.ComputeWindow w)
    {
        var m = new Wire.ComputeWindow
        {
            Step = w.Step,
            Generation = w.Generation,
            Attempt = w.Attempt,
            FirstStream = w.FirstStream,
            StreamCount = w.StreamCount,
            Length = w.Length,
        };
        m.Inputs.AddRange(w.Inputs);
        m.Targets.AddRange(w.Targets);
        return ProtoFields.WriteWithFloats(
            m, (Wire.ComputeWindow.StateFieldNumber, w.State), (Wire.ComputeWindow.ParametersFieldNumber, w.Parameters));
    }

    internal static Parallel.ComputeWindow FromWireWindow(ByteString bytes)
    {
        Span<(int Offset, int Length)> floats = stackalloc (int, int)[2];
        var m = ProtoFields.ParseExcept(
            bytes.Span, Wire.ComputeWindow.Parser, [Wire.ComputeWindow.StateFieldNumber, Wire.ComputeWindow.ParametersFieldNumber], floats);
        var cells = (long)m.Length * m.StreamCount;
        if (m.Length < 1 || m.StreamCount < 1 || m.Inputs.Count != cells || m.Targets.Count != cells)
        {
            throw new FormatException($"ComputeWindow: {m.Inputs.Count} inputs and {m.Targets.Count} targets for length {m.Length} x {m.StreamCount} streams");
        }

        return new Parallel.ComputeWindow(
            m.Step, m.Generation, m.Attempt, m.FirstStream, m.StreamCount, m.Length,
            [.. m.Inputs], [.. m.Targets], Floats(bytes, floats[0]), Floats(bytes, floats[1]));
    }

    internal static ByteString ToWire(Parallel.ComputeBatch b)
    {
        var m = new Wire.ComputeBatch
        {
            Step = b.Step,
            Generation = b.Generation,
            Attempt = b.Attempt,
            FirstRow = b.FirstRow,
            SourceSteps = b.Shard.SourceSteps,
            TargetSteps = b.Shard.TargetSteps,
        };
        m.Sources.AddRange(b.Shard.Sources);
        m.Lengths.AddRange(b.Shard.Lengths);
        m.Targets.AddRange(b.Shard.Targets);
        m.DecoderInputs.AddRange(b.Shard.DecoderInputs);
        return ProtoFields.WriteWithFloats(m, (Wire.ComputeBatch.ParametersFieldNumber, b.Parameters));
    }

    internal static Parallel.ComputeBatch FromWireBatch(ByteString bytes)
    {
        Span<(int Offset, int Length)> floats = stackalloc (int, int)[1];
        var m = ProtoFields.ParseExcept(bytes.Span, Wire.ComputeBatch.Parser, [Wire.ComputeBatch.ParametersFieldNumber], floats);
        var rows = m.Lengths.Count;
        if (rows < 1 || m.SourceSteps < 1 || m.Sources.Count != (long)m.SourceSteps * rows)
        {
            throw new FormatException($"ComputeBatch: {m.Sources.Count} source ids for {m.SourceSteps} steps x {rows} rows");
        }

        var shard = new Tasks.TaskShard(m.SourceSteps, [.. m.Sources], [.. m.Lengths], m.TargetSteps, [.. m.Targets], [.. m.DecoderInputs]);
        return new Parallel.ComputeBatch(m.Step, m.Generation, m.Attempt, m.FirstRow, shard, Floats(bytes, floats[0]));
    }

    internal static ByteString ToWire(Parallel.WindowGradients g) => ProtoFields.WriteWithFloats(
        new Wire.WindowGradients
        {
            Step = g.Step,
            Generation = g.Generation,
            Attempt = g.Attempt,
            WorkerIndex = g.WorkerIndex,
            LossSum = g.LossSum,
            Tokens = g.Tokens,
            ComputeSeconds = g.ComputeSeconds,
            CopySeconds = g.CopySeconds,
        },
        (Wire.WindowGradients.GradientsFieldNumber, g.Gradients),
        (Wire.WindowGradients.FinalStateFieldNumber, g.FinalState));

    internal static Parallel.WindowGradients FromWireGradients(ByteString bytes)
    {
        Span<(int Offset, int Length)> floats = stackalloc (int, int)[2];
        var m = ProtoFields.ParseExcept(
            bytes.Span, Wire.WindowGradients.Parser, [Wire.WindowGradients.GradientsFieldNumber, Wire.WindowGradients.FinalStateFieldNumber], floats);
        return new Parallel.WindowGradients(
            m.Step, m.Generation, m.Attempt, m.WorkerIndex, m.LossSum, m.Tokens,
            Floats(bytes, floats[0]), Floats(bytes, floats[1]), m.ComputeSeconds, m.CopySeconds);
    }

    /// <summary>A float field found by <see cref="ProtoFields.ParseExcept"/>, decoded straight from the message bytes.</summary>
    private static float[] Floats(ByteString bytes, (int Offset, int Length) field) =>
        LittleEndianFloats.ToArray(bytes.Span.Slice(field.Offset, field.Length));
}
