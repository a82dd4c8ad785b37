using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using RnnCluster.DataPlane;
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

    /// <summary>
    /// Payloads up to this size come from the shared pool. Larger ones (a replica's parameters and
    /// optimizer state, tens of MB, sent at a fetch or a checkpoint) are allocated, so the pool never keeps them.
    /// </summary>
    public const int LargestPooled = 4 << 20;

    /// <summary>
    /// The message as a tensor: its header, and its bytes written once, straight into a payload rented
    /// from the pool (a fresh one above <see cref="LargestPooled"/>). A step command is ~150 KB with the
    /// run's snapshot: three fresh large-object-heap arrays per worker per step before, whose pages
    /// faulted in on the coordinator between the barrier and the dispatch. Dispose it once sent.
    /// </summary>
    public static EncodedStep Encode(object message, string runId, ulong incarnation)
    {
        (TensorKind kind, long step, int generation, int attempt, int worker, FloatMessage? composed) = message switch
        {
            ComputeWindow w => (Window, w.Step, w.Generation, w.Attempt, -1, StepWire.Compose(w)),
            ComputeBatch b => (Batch, b.Step, b.Generation, b.Attempt, -1, StepWire.Compose(b)),
            WindowGradients g => (Gradients, g.Step, g.Generation, g.Attempt, g.WorkerIndex, StepWire.Compose(g)),
            ShardFailed f => (Failed, f.Step, 0, 0, f.WorkerIndex, default(FloatMessage?)),
            FetchSnapshot f => (Fetch, f.Step, 0, 0, -1, StepWire.Compose(f)),
            SnapshotCopy c => (Copy, c.Snapshot.Step, 0, 0, -1, StepWire.Compose(c)),
            FetchReplica f => (FetchCopy, f.Step, 0, 0, -1, StepWire.Compose(f)),
            ReplicaCopy c => (ReplicaRun, c.Step, 0, 0, -1, StepWire.Compose(c)),
            _ => throw new ArgumentException($"{message?.GetType().Name ?? "null"} is not a step message", nameof(message)),
        };
        var reason = message is ShardFailed failed ? Encoding.UTF8.GetBytes(failed.Reason) : null;
        var size = composed?.Size ?? reason!.Length;
        var floats = (size + 3) / 4;
        var rented = floats * sizeof(float) <= LargestPooled;
        var payload = rented ? ArrayPool<float>.Shared.Rent(floats) : new float[floats];
        var bytes = MemoryMarshal.AsBytes(payload.AsSpan(0, floats));
        if (composed is { } proto)
        {
            proto.WriteTo(bytes);
        }
        else
        {
            reason.CopyTo(bytes);
        }

        // A pooled array holds whatever its last user left: the padding goes out as zeros, as before.
        bytes[size..].Clear();
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
                ? new Dictionary<string, double> { [BytesKey] = size, [NonFiniteKey] = 1 }
                : new Dictionary<string, double> { [BytesKey] = size },
        };
        return new EncodedStep(header, payload, floats, rented);
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

/// <summary>
/// A step message encoded as a tensor (<see cref="StepCodec.Encode"/>). Its payload is read until the
/// send returns; dispose it then, and a pooled payload goes back to the pool.
/// </summary>
internal sealed class EncodedStep(TensorHeader header, float[] payload, int length, bool pooled) : IDisposable
{
    private float[]? _payload = payload;

    public TensorHeader Header { get; } = header;

    /// <summary>The message's bytes as whole floats, the last one padded with zeros.</summary>
    public ReadOnlyMemory<float> Payload => (_payload ?? throw new ObjectDisposedException(nameof(EncodedStep))).AsMemory(0, length);

    public void Dispose()
    {
        var payload = Interlocked.Exchange(ref _payload, null);
        if (pooled && payload is not null)
        {
            ArrayPool<float>.Shared.Return(payload);
        }
    }
}
