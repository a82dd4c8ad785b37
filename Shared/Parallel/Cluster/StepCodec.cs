using System.Runtime.InteropServices;
using System.Text;
using RnnCluster.DataPlane.Tensors;
using RnnCluster.Training.Parallel;

namespace RnnCluster.Parallel.Cluster;

/// <summary>
/// The step messages on the data plane. Each travels as one tensor message: the header carries what
/// identifies it (kind, run, generation, step, attempt, worker, incarnation), the payload the message's
/// protobuf encoding (float buffers inside it as raw little-endian bytes), padded to whole floats.
/// </summary>
internal static class StepCodec
{
    // Application kinds (the data plane's own are 1-3).
    private const TensorKind Window = (TensorKind)101;
    private const TensorKind Batch = (TensorKind)102;
    private const TensorKind Gradients = (TensorKind)103;
    private const TensorKind Failed = (TensorKind)104;
    private const TensorKind Fetch = (TensorKind)105;
    private const TensorKind Copy = (TensorKind)106;
    private const TensorKind FetchCopy = (TensorKind)107;
    private const TensorKind ReplicaRun = (TensorKind)108;
    private const string BytesKey = "bytes";
    private const string NonFiniteKey = "nonFinite";

    public static (TensorHeader Header, float[] Payload) Encode(object message, string runId, ulong incarnation)
    {
        var (kind, step, generation, attempt, worker, bytes) = message switch
        {
            ComputeWindow w => (Window, w.Step, w.Generation, w.Attempt, -1, StepWire.ToWire(w)),
            ComputeBatch b => (Batch, b.Step, b.Generation, b.Attempt, -1, StepWire.ToWire(b)),
            WindowGradients g => (Gradients, g.Step, g.Generation, g.Attempt, g.WorkerIndex, StepWire.ToWire(g)),
            ShardFailed f => (Failed, f.Step, 0, 0, f.WorkerIndex, Google.Protobuf.ByteString.CopyFromUtf8(f.Reason)),
            FetchSnapshot f => (Fetch, f.Step, 0, 0, -1, StepWire.ToWire(f)),
            SnapshotCopy c => (Copy, c.Snapshot.Step, 0, 0, -1, StepWire.ToWire(c)),
            FetchReplica f => (FetchCopy, f.Step, 0, 0, -1, StepWire.ToWire(f)),
            ReplicaCopy c => (ReplicaRun, c.Step, 0, 0, -1, StepWire.ToWire(c)),
            _ => throw new ArgumentException($"{message?.GetType().Name ?? "null"} is not a step message", nameof(message)),
        };
        var payload = new float[(bytes.Length + 3) / 4];
        bytes.Span.CopyTo(MemoryMarshal.AsBytes(payload.AsSpan()));
        var header = new TensorHeader
        {
            Kind = kind,
            RunId = runId,
            Generation = generation,
            Step = step,
            Attempt = attempt,
            WorkerIndex = Math.Max(worker, 0),
            Incarnation = incarnation,
            Values = message is ShardFailed { NonFinite: true }
                ? new Dictionary<string, double> { [BytesKey] = bytes.Length, [NonFiniteKey] = 1 }
                : new Dictionary<string, double> { [BytesKey] = bytes.Length },
        };
        return (header, payload);
    }

    /// <exception cref="FormatException">Not a step message, or its bytes do not parse.</exception>
    public static object Decode(TensorMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var h = message.Header;
        if (!h.Values.TryGetValue(BytesKey, out var count) || count < 0 || count > (long)message.Length * 4)
        {
            throw new FormatException($"a {h.Kind} message from {message.Peer} without a valid byte count");
        }

        var bytes = MemoryMarshal.AsBytes(message.Payload.Span)[..(int)count];
        // Parsed in place: the pooled payload outlives this call (the caller disposes the message after
        // it), and every float buffer is copied out of it into the record's own array.
        var wire = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(FloatBytes.Of(message.Payload)[..(int)count]);
        return h.Kind switch
        {
            Window => StepWire.FromWireWindow(wire),
            Batch => StepWire.FromWireBatch(wire),
            Gradients => StepWire.FromWireGradients(wire),
            Failed => new ShardFailed(h.WorkerIndex, h.Step, Encoding.UTF8.GetString(bytes), h.Values.TryGetValue(NonFiniteKey, out var nonFinite) && nonFinite == 1),
            Fetch => StepWire.FromWireFetch(wire),
            Copy => StepWire.FromWireCopy(wire),
            FetchCopy => StepWire.FromWireFetchReplica(wire),
            ReplicaRun => StepWire.FromWireReplicaCopy(wire),
            _ => throw new FormatException($"{message.Peer} sent a tensor of kind {(int)h.Kind}, not a step message"),
        };
    }
}
