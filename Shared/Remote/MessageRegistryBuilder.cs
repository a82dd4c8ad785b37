using Google.Protobuf;

namespace RnnCluster.Remote;

/// <summary>
/// Collects the message types at startup. Ids are part of the wire contract (like protobuf field
/// numbers): assign each once and never reuse it. Id 0 is reserved because it is what an unset
/// field decodes to.
/// </summary>
public sealed class MessageRegistryBuilder
{
    private readonly Dictionary<uint, MessageRegistration> _byId = [];
    private readonly HashSet<Type> _types = [];

    /// <summary>Registers <typeparamref name="T"/> under <paramref name="typeId"/> with explicit serializers.</summary>
    public MessageRegistryBuilder Add<T>(uint typeId, Func<T, ByteString> serialize, Func<ByteString, T> deserialize)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(serialize);
        ArgumentNullException.ThrowIfNull(deserialize);
        if (typeId == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(typeId), typeId, "Type id 0 is reserved (an unset field reads as 0).");
        }

        if (_byId.TryGetValue(typeId, out var taken))
        {
            throw new ArgumentException($"Type id {typeId} is already registered for {taken.MessageType.FullName}.", nameof(typeId));
        }

        if (!_types.Add(typeof(T)))
        {
            throw new ArgumentException($"{typeof(T).FullName} is already registered under another type id.", nameof(typeId));
        }

        _byId.Add(typeId, new MessageRegistration(typeId, typeof(T), m => serialize((T)m), b => deserialize(b)));
        return this;
    }

    /// <summary>Registers a generated protobuf message type; it serializes itself.</summary>
    public MessageRegistryBuilder AddProtobuf<T>(uint typeId)
        where T : class, IMessage<T>, new()
    {
        var parser = new MessageParser<T>(() => new T());
        return Add<T>(typeId, m => m.ToByteString(), parser.ParseFrom);
    }

    public MessageRegistry Build() => new(_byId.Values);
}
