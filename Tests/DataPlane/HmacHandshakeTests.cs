using Google.Protobuf;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Protocol;

namespace RnnCluster.Tests.DataPlane;

public sealed class HmacHandshakeTests
{
    private static readonly ClusterSecret Secret = ClusterSecret.FromBytes("correct horse battery staple"u8, "test");
    private static readonly ClusterSecret OtherSecret = ClusterSecret.FromBytes("a different secret value"u8, "test");
    private static readonly NodeIdentity Coordinator = new("rnn://cluster@10.0.0.1:7100", 1);
    private static readonly NodeIdentity Worker = new("rnn://cluster@10.0.0.2:7100", 5);

    [Fact]
    public void Both_sides_authenticate_each_other_with_the_same_secret()
    {
        var initiator = new HmacHandshake(Secret, Worker, HandshakeRole.Initiator, new CountingRandom(1));
        var responder = new HmacHandshake(Secret, Coordinator, HandshakeRole.Responder, new CountingRandom(100));

        var (initiatorSaw, responderSaw) = Run(initiator, responder);

        Assert.Equal(Coordinator, initiatorSaw);
        Assert.Equal(Worker, responderSaw);
        Assert.True(initiator.IsAuthenticated);
        Assert.True(responder.IsAuthenticated);
    }

    [Fact]
    public void A_peer_with_a_wrong_secret_is_refused_by_both_sides()
    {
        var initiator = new HmacHandshake(Secret, Worker, HandshakeRole.Initiator, new CountingRandom(1));
        var responder = new HmacHandshake(OtherSecret, Coordinator, HandshakeRole.Responder, new CountingRandom(100));
        var hello = initiator.CreateHandshake();
        var responderHello = responder.CreateHandshake();
        var responderProof = responder.ReceiveHandshake(hello);
        var initiatorProof = initiator.ReceiveHandshake(responderHello);

        var error = Assert.Throws<HandshakeFailedException>(() => initiator.VerifyReply(responderProof));
        Assert.Throws<HandshakeFailedException>(() => responder.VerifyReply(initiatorProof));

        Assert.Contains(Coordinator.Address, error.Message, StringComparison.Ordinal);
        Assert.False(initiator.IsAuthenticated);
        Assert.Null(initiator.Peer);
    }

    [Fact]
    public void A_recorded_handshake_replayed_on_a_new_connection_is_refused()
    {
        var random = new CountingRandom(1);
        var recorded = new HmacHandshake(Secret, Coordinator, HandshakeRole.Responder, new CountingRandom(100));
        var first = new HmacHandshake(Secret, Worker, HandshakeRole.Initiator, random);
        var firstHello = first.CreateHandshake();
        var recordedHello = recorded.CreateHandshake();
        var recordedProof = recorded.ReceiveHandshake(firstHello);
        first.ReceiveHandshake(recordedHello);
        first.VerifyReply(recordedProof);

        // The attacker has no secret, only the coordinator's frames from the first connection.
        var second = new HmacHandshake(Secret, Worker, HandshakeRole.Initiator, random);
        second.CreateHandshake();
        second.ReceiveHandshake(recordedHello);

        Assert.Throws<HandshakeFailedException>(() => second.VerifyReply(recordedProof));
    }

    [Fact]
    public void A_proof_replayed_within_the_same_connection_is_refused()
    {
        var initiator = new HmacHandshake(Secret, Worker, HandshakeRole.Initiator, new CountingRandom(1));
        var responder = new HmacHandshake(Secret, Coordinator, HandshakeRole.Responder, new CountingRandom(100));
        var hello = initiator.CreateHandshake();
        var responderHello = responder.CreateHandshake();
        var proof = responder.ReceiveHandshake(hello);
        initiator.ReceiveHandshake(responderHello);
        initiator.VerifyReply(proof);

        Assert.Throws<HandshakeFailedException>(() => initiator.VerifyReply(proof));
    }

    [Fact]
    public void A_tampered_proof_is_refused()
    {
        var initiator = new HmacHandshake(Secret, Worker, HandshakeRole.Initiator, new CountingRandom(1));
        var responder = new HmacHandshake(Secret, Coordinator, HandshakeRole.Responder, new CountingRandom(100));
        var hello = initiator.CreateHandshake();
        var responderHello = responder.CreateHandshake();
        var proof = responder.ReceiveHandshake(hello).Proof.ToByteArray();
        initiator.ReceiveHandshake(responderHello);
        proof[^1] ^= 0x80;

        Assert.Throws<HandshakeFailedException>(() => initiator.VerifyReply(new HandshakeReply { Proof = ByteString.CopyFrom(proof) }));
        Assert.Throws<HandshakeFailedException>(() => initiator.VerifyReply(new HandshakeReply()));
    }

    [Fact]
    public void A_handshake_whose_identity_was_changed_in_transit_is_refused()
    {
        var initiator = new HmacHandshake(Secret, Worker, HandshakeRole.Initiator, new CountingRandom(1));
        var responder = new HmacHandshake(Secret, Coordinator, HandshakeRole.Responder, new CountingRandom(100));
        var hello = initiator.CreateHandshake();
        var responderHello = responder.CreateHandshake();
        var proof = responder.ReceiveHandshake(hello);
        var forged = responderHello.Clone();
        forged.Incarnation++;
        initiator.ReceiveHandshake(forged);

        Assert.Throws<HandshakeFailedException>(() => initiator.VerifyReply(proof));
    }

    [Fact]
    public void A_proof_reflected_back_to_its_sender_is_refused()
    {
        var initiator = new HmacHandshake(Secret, Worker, HandshakeRole.Initiator, new CountingRandom(1));
        var responder = new HmacHandshake(Secret, Coordinator, HandshakeRole.Responder, new CountingRandom(100));
        var hello = initiator.CreateHandshake();
        var responderHello = responder.CreateHandshake();
        responder.ReceiveHandshake(hello);
        var initiatorProof = initiator.ReceiveHandshake(responderHello);

        Assert.Throws<HandshakeFailedException>(() => initiator.VerifyReply(initiatorProof));
    }

    [Fact]
    public void A_peer_presenting_this_nodes_own_identity_or_a_short_nonce_is_refused()
    {
        var self = new HmacHandshake(Secret, Worker, HandshakeRole.Responder, new CountingRandom(1));
        var ownHello = self.CreateHandshake();
        Assert.Throws<HandshakeFailedException>(() => self.ReceiveHandshake(ownHello));

        var other = new HmacHandshake(Secret, Coordinator, HandshakeRole.Responder, new CountingRandom(1));
        other.CreateHandshake();
        var shortNonce = new Handshake { ProtocolVersion = HmacHandshake.ProtocolVersion, NodeAddress = Worker.Address, Nonce = ByteString.CopyFrom(1, 2) };
        Assert.Throws<HandshakeFailedException>(() => other.ReceiveHandshake(shortNonce));
    }

    [Fact]
    public void A_peer_speaking_another_protocol_version_is_refused_naming_both()
    {
        var responder = new HmacHandshake(Secret, Coordinator, HandshakeRole.Responder, new CountingRandom(100));
        responder.CreateHandshake();
        var hello = new HmacHandshake(Secret, Worker, HandshakeRole.Initiator, new CountingRandom(1)).CreateHandshake();
        hello.ProtocolVersion = 2;

        var error = Assert.Throws<HandshakeFailedException>(() => responder.ReceiveHandshake(hello));

        Assert.Contains("version 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nonces_come_from_the_injected_source()
    {
        var hello = new HmacHandshake(Secret, Worker, HandshakeRole.Initiator, new CountingRandom(7)).CreateHandshake();

        Assert.Equal(Enumerable.Range(7, HmacHandshake.NonceBytes).Select(i => (byte)i), hello.Nonce.ToByteArray());
    }

    /// <summary>The message order a transport produces: initiator opens, responder answers with its handshake and proof.</summary>
    private static (NodeIdentity InitiatorSaw, NodeIdentity ResponderSaw) Run(HmacHandshake initiator, HmacHandshake responder)
    {
        var hello = Wire(initiator.CreateHandshake());
        var responderHello = Wire(responder.CreateHandshake());
        var responderProof = Wire(responder.ReceiveHandshake(hello));
        var initiatorProof = Wire(initiator.ReceiveHandshake(responderHello));
        var initiatorSaw = initiator.VerifyReply(responderProof);
        var responderSaw = responder.VerifyReply(initiatorProof);
        return (initiatorSaw, responderSaw);
    }

    private static T Wire<T>(T message)
        where T : IMessage<T>, new()
        => new MessageParser<T>(() => new T()).ParseFrom(message.ToByteArray());
}
