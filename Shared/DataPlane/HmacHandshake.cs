using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using RnnCluster.DataPlane.Protocol;

namespace RnnCluster.DataPlane;

/// <summary>
/// Mutual challenge–response over one new connection, proving both ends hold the same
/// <see cref="ClusterSecret"/> without sending it. Each side sends a <see cref="Handshake"/> (identity and
/// a fresh 32-byte nonce), then a <see cref="HandshakeReply"/> whose proof is
/// HMAC-SHA256(secret, label ‖ role ‖ initiator ‖ responder ‖ initiator nonce ‖ responder nonce).
/// Fresh nonces on both sides make an old proof worthless (no replay); the role makes a proof useless
/// on the sender's own connection (no reflection); the identities stop a proof being reused for
/// another node. Sequence for the initiator: <see cref="CreateHandshake"/>, <see cref="ReceiveHandshake"/>
/// (send the returned reply), <see cref="VerifyReply"/>; the responder makes the same calls once the
/// initiator's handshake arrived. This authenticates cluster membership, not the channel: TLS (the
/// transport's job) keeps a relay from riding an authenticated connection.
/// Not thread-safe: one instance per connection, driven by its reader.
/// </summary>
public sealed class HmacHandshake
{
    public const uint ProtocolVersion = 1;
    public const int NonceBytes = 32;

    /// <summary>Longest node address accepted, so a peer cannot make us hash megabytes before failing.</summary>
    public const int MaxAddressLength = 1024;

    private static readonly byte[] Label = Encoding.ASCII.GetBytes("RnnCluster handshake v1\0");

    private readonly ClusterSecret _secret;
    private readonly NodeIdentity _local;
    private readonly HandshakeRole _role;
    private readonly RandomNumberGenerator _random;
    private readonly byte[] _localNonce = new byte[NonceBytes];
    private byte[]? _peerNonce;
    private NodeIdentity? _pendingPeer;
    private State _state;

    /// <param name="random">Source of the nonces: <see cref="RandomNumberGenerator.Create()"/> in production, a fixed one in tests.</param>
    public HmacHandshake(ClusterSecret secret, NodeIdentity local, HandshakeRole role, RandomNumberGenerator random)
    {
        ArgumentNullException.ThrowIfNull(secret);
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentException.ThrowIfNullOrEmpty(local.Address);
        if (role is not (HandshakeRole.Initiator or HandshakeRole.Responder))
        {
            throw new ArgumentOutOfRangeException(nameof(role), role, "Unknown handshake role.");
        }

        _secret = secret;
        _local = local;
        _role = role;
        _random = random;
    }

    private enum State
    {
        New,
        HandshakeSent,
        ReplySent,
        Authenticated,
        Failed,
    }

    /// <summary>The peer, once <see cref="VerifyReply"/> succeeded; null before.</summary>
    public NodeIdentity? Peer { get; private set; }

    public bool IsAuthenticated => _state == State.Authenticated;

    /// <summary>This side's opening message, with a fresh nonce.</summary>
    public Handshake CreateHandshake()
    {
        if (_state != State.New)
        {
            throw new InvalidOperationException("CreateHandshake is called once, first.");
        }

        _random.GetBytes(_localNonce);
        _state = State.HandshakeSent;
        return new Handshake
        {
            ProtocolVersion = ProtocolVersion,
            NodeAddress = _local.Address,
            Incarnation = _local.Incarnation,
            Nonce = ByteString.CopyFrom(_localNonce),
        };
    }

    /// <summary>Takes the peer's opening message and returns this side's proof, to send back.</summary>
    /// <exception cref="HandshakeFailedException">The peer's handshake is malformed or out of sequence.</exception>
    public HandshakeReply ReceiveHandshake(Handshake peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        if (_state == State.New)
        {
            throw new InvalidOperationException("Call CreateHandshake before ReceiveHandshake.");
        }

        Expect(State.HandshakeSent, "a second handshake");
        if (peer.ProtocolVersion != ProtocolVersion)
        {
            Fail($"peer speaks protocol version {peer.ProtocolVersion}, this node {ProtocolVersion}");
        }

        if (peer.NodeAddress.Length == 0 || peer.NodeAddress.Length > MaxAddressLength)
        {
            Fail($"peer address is empty or longer than {MaxAddressLength} characters");
        }

        if (peer.Nonce.Length != NonceBytes)
        {
            Fail($"peer nonce has {peer.Nonce.Length} bytes, expected {NonceBytes}");
        }

        // A node never connects to itself; refusing it also closes the reflection of this node's own
        // handshake and proof back at it through a second connection.
        if (string.Equals(peer.NodeAddress, _local.Address, StringComparison.Ordinal)
            || peer.Nonce.Span.SequenceEqual(_localNonce))
        {
            Fail("peer presented this node's own address or nonce");
        }

        _pendingPeer = new NodeIdentity(peer.NodeAddress, peer.Incarnation);
        _peerNonce = peer.Nonce.ToByteArray();
        _state = State.ReplySent;
        return new HandshakeReply { Proof = ByteString.CopyFrom(ComputeProof(_role)) };
    }

    /// <summary>Checks the peer's proof; on success the connection is authenticated and the peer returned.</summary>
    /// <exception cref="HandshakeFailedException">The proof is wrong, or arrived out of sequence or twice.</exception>
    public NodeIdentity VerifyReply(HandshakeReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        Expect(State.ReplySent, "a proof");
        var peerRole = _role == HandshakeRole.Initiator ? HandshakeRole.Responder : HandshakeRole.Initiator;
        var expected = ComputeProof(peerRole);
        if (!CryptographicOperations.FixedTimeEquals(expected, reply.Proof.Span))
        {
            Fail($"peer {_pendingPeer} did not prove knowledge of the cluster secret");
        }

        _state = State.Authenticated;
        Peer = _pendingPeer;
        return Peer!;
    }

    private void Expect(State expected, string what)
    {
        if (_state == State.Failed)
        {
            throw new HandshakeFailedException("The handshake already failed; the connection must be closed.");
        }

        if (_state != expected)
        {
            Fail($"unexpected {what} in state {_state}");
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void Fail(string reason)
    {
        _state = State.Failed;
        throw new HandshakeFailedException($"Handshake as {_role} of {_local} failed: {reason}.");
    }

    /// <summary>The transcript is length-prefixed field by field, so no two different transcripts encode alike.</summary>
    private byte[] ComputeProof(HandshakeRole proverRole)
    {
        var (initiator, responder) = _role == HandshakeRole.Initiator ? (_local, _pendingPeer!) : (_pendingPeer!, _local);
        var (initiatorNonce, responderNonce) = _role == HandshakeRole.Initiator ? (_localNonce, _peerNonce!) : (_peerNonce!, _localNonce);
        var transcript = new ArrayBufferWriter<byte>(256);
        transcript.Write(Label);
        transcript.Write([(byte)proverRole]);
        WriteIdentity(transcript, initiator);
        WriteIdentity(transcript, responder);
        transcript.Write(initiatorNonce);
        transcript.Write(responderNonce);
        return HMACSHA256.HashData(_secret.Key, transcript.WrittenSpan);
    }

    private static void WriteIdentity(ArrayBufferWriter<byte> transcript, NodeIdentity identity)
    {
        var address = Encoding.UTF8.GetBytes(identity.Address);
        BinaryPrimitives.WriteInt32LittleEndian(transcript.GetSpan(4), address.Length);
        transcript.Advance(4);
        transcript.Write(address);
        BinaryPrimitives.WriteUInt64LittleEndian(transcript.GetSpan(8), identity.Incarnation);
        transcript.Advance(8);
    }
}
