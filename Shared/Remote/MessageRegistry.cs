using System.Collections.Frozen;
using Google.Protobuf;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Protocol;
using RnnCluster.DataPlane.Transport;

namespace RnnCluster.Remote;

/// <summary>
/// The closed set of message types this node sends and accepts over the wire: type id ⇄ CLR type,
/// each with its own serializer. Built once at startup by <see cref="MessageRegistryBuilder"/> and
/// immutable afterwards. Decoding goes only through a registered id: nothing resolves a CLR type name
/// from the wire, so a peer can never make us instantiate a type we did not list.
/// It is the codec <see cref="RemoteTransport"/> encodes and decodes actor messages with.
/// Thread-safe (immutable).
/// </summary>
public sealed class MessageRegistry : IMessageCodec
{
    private readonly FrozenDictionary<uint, MessageRegistration> _byId;
    private readonly FrozenDictionary<Type, MessageRegistration> _byType;

    internal MessageRegistry(IEnumerable<MessageRegistration> registrations)
    {
        var list = registrations.ToList();
        _byId = list.ToFrozenDictionary(r => r.TypeId);
        _byType = list.ToFrozenDictionary(r => r.MessageType);
    }

    public int Count => _byId.Count;

    public bool TryGetTypeId(Type messageType, out uint typeId)
    {
        ArgumentNullException.ThrowIfNull(messageType);
        var found = _byType.TryGetValue(messageType, out var registration);
        typeId = found ? registration!.TypeId : 0;
        return found;
    }

    /// <summary>Wraps <paramref name="message"/> for the wire. Its exact runtime type must be registered (no base-type lookup).</summary>
    /// <exception cref="ArgumentException">The message's type is not registered.</exception>
    public Message Encode(object message, string sender, string recipient)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(sender);
        ArgumentNullException.ThrowIfNull(recipient);
        if (!_byType.TryGetValue(message.GetType(), out var registration))
        {
            throw new ArgumentException(
                $"{message.GetType().FullName} is not registered for remoting; add it to the MessageRegistryBuilder at startup.",
                nameof(message));
        }

        return new Message
        {
            TypeId = registration.TypeId,
            Sender = sender,
            Recipient = recipient,
            Payload = registration.Serialize(message),
        };
    }

    /// <summary>Decodes the payload of <paramref name="message"/> with the serializer registered for its type id.</summary>
    /// <exception cref="UnknownMessageTypeException">The type id is not registered.</exception>
    /// <exception cref="MessageDecodeException">The payload does not parse as the registered type (a serializer signals that with
    /// <see cref="InvalidProtocolBufferException"/> or <see cref="FormatException"/>).</exception>
    public object Decode(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!_byId.TryGetValue(message.TypeId, out var registration))
        {
            throw new UnknownMessageTypeException(message.TypeId);
        }

        try
        {
            return registration.Deserialize(message.Payload);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or FormatException)
        {
            throw new MessageDecodeException(message.TypeId, registration.MessageType, e);
        }
    }
}

/// <summary>One registered type: the serializers are untyped here so the registry can hold any mix.</summary>
internal sealed record MessageRegistration(
    uint TypeId,
    Type MessageType,
    Func<object, ByteString> Serialize,
    Func<ByteString, object> Deserialize);
