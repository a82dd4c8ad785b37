using RnnCluster.DataPlane.Protocol;

namespace RnnCluster.DataPlane.Transport;

/// <summary>
/// How <see cref="RemoteTransport"/> turns application messages into <see cref="Message"/> envelopes and
/// back. The transport only moves envelopes; which CLR types exist and how they serialize belongs to
/// the layer above (the remoting layer's <c>MessageRegistry</c>), so the data plane knows no message type.
/// Implementations must be thread-safe: every connection's reader decodes through the same instance.
/// </summary>
public interface IMessageCodec
{
    /// <summary>Wraps <paramref name="message"/> for the wire.</summary>
    /// <exception cref="ArgumentException">The message's type is not one the codec knows.</exception>
    Message Encode(object message, string sender, string recipient);

    /// <summary>Decodes an envelope's payload. Either exception closes the connection it came on.</summary>
    /// <exception cref="UnknownMessageTypeException">The type id is not known.</exception>
    /// <exception cref="MessageDecodeException">The payload does not parse as the type its id names.</exception>
    object Decode(Message message);
}
