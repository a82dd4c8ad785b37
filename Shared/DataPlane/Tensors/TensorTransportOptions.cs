using RnnCluster.DataPlane.Transport;

namespace RnnCluster.DataPlane.Tensors;

/// <summary>Settings of one node's <see cref="TensorTransport"/>; <see cref="Validate"/> names the first bad one.</summary>
public sealed record TensorTransportOptions
{
    /// <summary>
    /// Who this node is: proved to every peer in the handshake and shown as <see cref="TensorConnection.Peer"/>
    /// on their side. Any address text (the node's cluster address, say) with the incarnation of this start.
    /// </summary>
    public required NodeIdentity Identity { get; init; }

    /// <summary>
    /// Where to listen and what <see cref="TensorTransport.LocalEndPoint"/> names: an IP address listens on
    /// that address, <c>localhost</c> on loopback, anything else (a DNS name peers dial) on every interface.
    /// </summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 lets the OS choose, and <see cref="TensorTransport.LocalEndPoint"/> then names the bound one.</summary>
    public int Port { get; init; }

    /// <summary>
    /// Where <see cref="Port"/> was configured (a setting's name, such as <c>cluster.data-plane-port</c>),
    /// named by the error when the port cannot be bound, so the operator knows what to change; null names only the port.
    /// </summary>
    public string? PortSetting { get; init; }

    /// <summary>The WebSocket path tensor connections use; every other request is answered 404.</summary>
    public string Path { get; init; } = "/rnncluster/tensors";

    /// <summary>
    /// Frame size, bytes of incomplete transfers held per connection (a tensor's bytes must fit: raise it
    /// for models over 64 M parameters), open connections, and how long a silent incomplete transfer is kept.
    /// </summary>
    public FrameLimits Limits { get; init; } = FrameLimits.Default;

    /// <summary>
    /// How long a connect may take to reach the peer (TCP, TLS and the WebSocket upgrade). A process that
    /// is gone is reported at once as connection refused; this bounds only hosts that do not answer.
    /// </summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long the HMAC handshake may take, on either side; a silent peer costs no more.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The longest one tensor may take: for the sender from its first frame to its last written, for the
    /// receiver from its first chunk to its last. Past it the connection is aborted as stalled. Time
    /// between tensors is not limited: an idle connection is not a stalled one.
    /// </summary>
    public TimeSpan TransferTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a closing side waits for the send in progress and for the peer's close reply before it aborts.</summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Received tensors held per connection until <see cref="TensorConnection.ReceiveAsync"/> takes them; beyond that the connection stops reading (back-pressure).</summary>
    public int ReceiveCapacity { get; init; } = 2;

    /// <summary>TLS for every connection (see <see cref="TransportTls"/>); null runs plain WebSockets behind the HMAC handshake.</summary>
    public TransportTls? Tls { get; init; }

    /// <summary>
    /// Asked about every dialling peer during its handshake (before this side proves anything): returns
    /// why the peer is refused, or null to admit it. A cluster refuses nodes that are not current members.
    /// The refused dialer's connect fails as <see cref="ConnectionEndReason.HandshakeRefused"/> with the
    /// reason. Called on connection threads; must be fast and thread-safe. Null admits every authenticated peer.
    /// </summary>
    public Func<NodeIdentity, string?>? PeerGate { get; init; }

    /// <summary>
    /// Tensors to a peer on this host through a ring of shared memory (<see cref="SharedMemoryOptions"/>),
    /// offered on every connection and used where the peer can open it; null sends every tensor over the socket.
    /// </summary>
    public SharedMemoryOptions? SharedMemory { get; init; }

    public TensorTransportOptions Validate()
    {
        ArgumentNullException.ThrowIfNull(Identity, nameof(Identity));
        Limits.Validate();
        Require(!string.IsNullOrWhiteSpace(Identity.Address) && Identity.Address.Length <= HmacHandshake.MaxAddressLength, nameof(Identity), Identity, $"must have an address of 1 to {HmacHandshake.MaxAddressLength} characters");
        Require(!string.IsNullOrWhiteSpace(Host), nameof(Host), Host, "must be set");
        Require(Port is >= 0 and <= 65535, nameof(Port), Port, "must be in [0, 65535]");
        Require(Path.StartsWith('/'), nameof(Path), Path, "must start with '/'");
        Require(ConnectTimeout > TimeSpan.Zero, nameof(ConnectTimeout), ConnectTimeout, "must be positive");
        Require(HandshakeTimeout > TimeSpan.Zero, nameof(HandshakeTimeout), HandshakeTimeout, "must be positive");
        Require(TransferTimeout > TimeSpan.Zero, nameof(TransferTimeout), TransferTimeout, "must be positive");
        Require(CloseTimeout > TimeSpan.Zero, nameof(CloseTimeout), CloseTimeout, "must be positive");
        Require(ReceiveCapacity >= 1, nameof(ReceiveCapacity), ReceiveCapacity, "must be at least 1");
        Tls?.Validate();
        SharedMemory?.Validate();
        return this;
    }

    private static void Require(bool condition, string name, object value, string rule)
    {
        if (!condition)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{nameof(TensorTransportOptions)}.{name} {rule}.");
        }
    }
}
