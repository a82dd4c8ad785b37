using Akka.Actor;
using Akka.Serialization;
using Google.Protobuf;
using RnnCluster.Parallel.Cluster.Wire;

namespace RnnCluster.Parallel.Cluster;

/// <summary>
/// The one serializer of every message of ours that crosses nodes through Akka.Remote: protobuf, with
/// short manifests that never change (they are the wire contract, like the field numbers). Anything
/// over <see cref="MaxMessageBytes"/> is refused: big payloads block Akka's single association per node
/// pair, heartbeats included, so tensors travel on the data plane. With
/// <c>allow-unregistered-types = off</c> a message type without a binding fails loudly instead of
/// falling back to JSON.
/// </summary>
public sealed class ControlSerializer : SerializerWithStringManifest
{
    /// <summary>Akka reserves 0–40; this number is in every frame of ours and must not change.</summary>
    public const int SerializerId = 7301;

    /// <summary>The largest control message: settings text is the biggest thing one carries (a few KB).</summary>
    public const int MaxMessageBytes = 1024 * 1024;

    private static readonly Dictionary<Type, string> ManifestOf = new()
    {
        [typeof(RegisterWorker)] = "reg",
        [typeof(WorkerAccepted)] = "acc",
        [typeof(WorkerRefused)] = "ref",
        [typeof(RunFinished)] = "fin",
    };

    private static readonly Dictionary<string, MessageParser> ParserOf = new(StringComparer.Ordinal)
    {
        ["reg"] = RegisterWorker.Parser,
        ["acc"] = WorkerAccepted.Parser,
        ["ref"] = WorkerRefused.Parser,
        ["fin"] = RunFinished.Parser,
    };

    public ControlSerializer(ExtendedActorSystem system)
        : base(system)
    {
    }

    public override int Identifier => SerializerId;

    /// <summary>Every message type this serializer writes (the HOCON bindings and the tests use it).</summary>
    public static IReadOnlyCollection<Type> MessageTypes => ManifestOf.Keys;

    public override string Manifest(object o)
    {
        ArgumentNullException.ThrowIfNull(o);
        return ManifestOf.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new ArgumentException($"{o.GetType().FullName} is not a control message of ours; it has no manifest", nameof(o));
    }

    public override byte[] ToBinary(object obj)
    {
        if (obj is not IMessage message || !ManifestOf.ContainsKey(obj.GetType()))
        {
            throw new ArgumentException($"{obj?.GetType().FullName ?? "null"} is not a control message of ours", nameof(obj));
        }

        var size = message.CalculateSize();
        if (size > MaxMessageBytes)
        {
            throw new ControlMessageTooLargeException($"{obj.GetType().Name} is {size:N0} bytes; control messages through Akka.Remote are at most {MaxMessageBytes:N0} (big payloads go on the data plane)");
        }

        return message.ToByteArray();
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length > MaxMessageBytes)
        {
            throw new ControlMessageTooLargeException($"a '{manifest}' control message of {bytes.Length:N0} bytes arrived; at most {MaxMessageBytes:N0} are accepted");
        }

        return ParserOf.TryGetValue(manifest, out var parser)
            ? parser.ParseFrom(bytes)
            : throw new System.Runtime.Serialization.SerializationException($"unknown control message manifest '{manifest}' (a peer of another version?)");
    }
}

/// <summary>A control message bigger than <see cref="ControlSerializer.MaxMessageBytes"/>: it is not sent.</summary>
public sealed class ControlMessageTooLargeException(string message) : System.Runtime.Serialization.SerializationException(message);
