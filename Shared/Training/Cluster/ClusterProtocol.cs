using Google.Protobuf;
using RnnCluster.Remote;
using Wire = RnnCluster.Remote.Protocol;

namespace RnnCluster.Training.Cluster;

/// <summary>
/// The closed set of messages a cluster run sends between processes, with their type ids (part of
/// the wire contract: never reuse or renumber one). Control messages are the generated protobuf
/// types themselves; the step messages keep their in-process records and are converted here, with
/// float buffers as raw little-endian bytes.
/// </summary>
public static class ClusterProtocol
{
    public static MessageRegistry CreateRegistry()
    {
        var parameters = new ParameterBytes();
        return new MessageRegistryBuilder()
        .AddProtobuf<Wire.JoinRequest>(1)
        .AddProtobuf<Wire.Welcome>(2)
        .AddProtobuf<Wire.JoinRefused>(3)
        .AddProtobuf<Wire.LeaveRequest>(4)
        .AddProtobuf<Wire.LeaveAccepted>(5)
        .AddProtobuf<Wire.MemberDownedNotice>(6)
        .AddProtobuf<Wire.RunFinished>(7)
        .Add<Parallel.ComputeWindow>(20, w => ToWire(w, parameters), FromWireWindow)
        .Add<Parallel.WindowGradients>(21, ToWire, FromWireGradients)
        .AddProtobuf<Wire.CreateReplica>(22)
        .AddProtobuf<Wire.ReplicaReady>(23)
        .AddProtobuf<Wire.ReplicaFailed>(24)
        .AddProtobuf<Wire.ReplicaStopped>(25)
        .Add<Parallel.ComputeBatch>(26, ToWire, FromWireBatch)
        .Build();
    }

    internal static ByteString ToWire(Parallel.ComputeWindow w, ParameterBytes? parameters = null)
    {
        var m = new Wire.ComputeWindow
        {
            Step = w.Step,
            Generation = w.Generation,
            Attempt = w.Attempt,
            FirstStream = w.FirstStream,
            StreamCount = w.StreamCount,
            Length = w.Length,
            State = LittleEndianFloats.ToByteString(w.State),
            Parameters = parameters?.Get(w.Parameters, w.Step) ?? LittleEndianFloats.ToByteString(w.Parameters),
        };
        m.Inputs.AddRange(w.Inputs);
        m.Targets.AddRange(w.Targets);
        return m.ToByteString();
    }

    internal static Parallel.ComputeWindow FromWireWindow(ByteString bytes)
    {
        var m = Wire.ComputeWindow.Parser.ParseFrom(bytes);
        var cells = (long)m.Length * m.StreamCount;
        if (m.Length < 1 || m.StreamCount < 1 || m.Inputs.Count != cells || m.Targets.Count != cells)
        {
            throw new FormatException($"ComputeWindow: {m.Inputs.Count} inputs and {m.Targets.Count} targets for length {m.Length} x {m.StreamCount} streams");
        }

        return new Parallel.ComputeWindow(
            m.Step, m.Generation, m.Attempt, m.FirstStream, m.StreamCount, m.Length,
            [.. m.Inputs], [.. m.Targets], LittleEndianFloats.ToArray(m.State), LittleEndianFloats.ToArray(m.Parameters));
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
            Parameters = LittleEndianFloats.ToByteString(b.Parameters),
        };
        m.Sources.AddRange(b.Shard.Sources);
        m.Lengths.AddRange(b.Shard.Lengths);
        m.Targets.AddRange(b.Shard.Targets);
        m.DecoderInputs.AddRange(b.Shard.DecoderInputs);
        return m.ToByteString();
    }

    internal static Parallel.ComputeBatch FromWireBatch(ByteString bytes)
    {
        var m = Wire.ComputeBatch.Parser.ParseFrom(bytes);
        var rows = m.Lengths.Count;
        if (rows < 1 || m.SourceSteps < 1 || m.Sources.Count != (long)m.SourceSteps * rows)
        {
            throw new FormatException($"ComputeBatch: {m.Sources.Count} source ids for {m.SourceSteps} steps x {rows} rows");
        }

        var shard = new Tasks.TaskShard(m.SourceSteps, [.. m.Sources], [.. m.Lengths], m.TargetSteps, [.. m.Targets], [.. m.DecoderInputs]);
        return new Parallel.ComputeBatch(m.Step, m.Generation, m.Attempt, m.FirstRow, shard, LittleEndianFloats.ToArray(m.Parameters));
    }

    internal static ByteString ToWire(Parallel.WindowGradients g) => new Wire.WindowGradients
    {
        Step = g.Step,
        Generation = g.Generation,
        Attempt = g.Attempt,
        WorkerIndex = g.WorkerIndex,
        LossSum = g.LossSum,
        Tokens = g.Tokens,
        Gradients = LittleEndianFloats.ToByteString(g.Gradients),
        FinalState = LittleEndianFloats.ToByteString(g.FinalState),
        ComputeSeconds = g.ComputeSeconds,
        CopySeconds = g.CopySeconds,
    }.ToByteString();

    internal static Parallel.WindowGradients FromWireGradients(ByteString bytes)
    {
        var m = Wire.WindowGradients.Parser.ParseFrom(bytes);
        return new Parallel.WindowGradients(
            m.Step, m.Generation, m.Attempt, m.WorkerIndex, m.LossSum, m.Tokens,
            LittleEndianFloats.ToArray(m.Gradients), LittleEndianFloats.ToArray(m.FinalState), m.ComputeSeconds, m.CopySeconds);
    }

    /// <summary>
    /// Every worker's window of a step carries the same parameters (the coordinator's one snapshot
    /// array, rewritten only when the next step opens): convert them to bytes once per step, not once
    /// per worker. ByteStrings are immutable, so the messages share them safely.
    /// </summary>
    internal sealed class ParameterBytes
    {
        private readonly Lock _gate = new();
        private float[]? _array;
        private long _step = -1;
        private ByteString? _bytes;

        public ByteString Get(float[] parameters, long step)
        {
            lock (_gate)
            {
                if (!ReferenceEquals(parameters, _array) || step != _step || _bytes is null)
                {
                    _bytes = LittleEndianFloats.ToByteString(parameters);
                    _array = parameters;
                    _step = step;
                }

                return _bytes;
            }
        }
    }
}
