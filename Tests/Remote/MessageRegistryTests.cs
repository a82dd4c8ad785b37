using Google.Protobuf;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Protocol;
using RnnCluster.Remote;

namespace RnnCluster.Tests.Remote;

public sealed class MessageRegistryTests
{
    private readonly MessageRegistry _registry = new MessageRegistryBuilder()
        .AddProtobuf<Heartbeat>(10)
        .Add<string>(11, s => ByteString.CopyFromUtf8(s), b => b.ToStringUtf8())
        .Build();

    [Fact]
    public void A_registered_type_round_trips_with_its_own_serializer()
    {
        var message = _registry.Encode("hello", "a", "b");

        Assert.Equal(11u, message.TypeId);
        Assert.Equal("hello", _registry.Decode(message));
        Assert.True(_registry.TryGetTypeId(typeof(Heartbeat), out var id));
        Assert.Equal(10u, id);
        Assert.Equal(2, _registry.Count);
    }

    [Fact]
    public void Decoding_an_unknown_type_id_is_refused_naming_the_id()
    {
        var unknown = new Message { TypeId = 99, Payload = ByteString.CopyFromUtf8("System.Diagnostics.Process") };

        var error = Assert.Throws<UnknownMessageTypeException>(() => _registry.Decode(unknown));

        Assert.Equal(99u, error.TypeId);
        Assert.Contains("99", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Encoding_an_unregistered_type_is_refused_naming_the_type()
    {
        var error = Assert.Throws<ArgumentException>(() => _registry.Encode(new Chunk(), "a", "b"));

        Assert.Contains(typeof(Chunk).FullName!, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_malformed_payload_of_a_known_type_is_a_decode_error_naming_the_id()
    {
        var broken = new Message { TypeId = 10, Payload = ByteString.CopyFrom(0x08) };

        var error = Assert.Throws<MessageDecodeException>(() => _registry.Decode(broken));

        Assert.Equal(10u, error.TypeId);
    }

    [Fact]
    public void Ids_and_types_are_registered_once_and_id_zero_is_reserved()
    {
        var builder = new MessageRegistryBuilder().AddProtobuf<Heartbeat>(1);

        Assert.Throws<ArgumentException>(() => builder.AddProtobuf<Chunk>(1));
        Assert.Throws<ArgumentException>(() => builder.AddProtobuf<Heartbeat>(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.AddProtobuf<Chunk>(0));
    }
}
