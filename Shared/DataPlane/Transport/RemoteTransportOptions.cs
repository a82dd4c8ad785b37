namespace RnnCluster.DataPlane.Transport;

/// <summary>Settings of one node's <see cref="RemoteTransport"/>; <see cref="Validate"/> names the first bad one.</summary>
public sealed record RemoteTransportOptions
{
    /// <summary>The actor system's name, the <c>system</c> part of <c>rnn://system@host:port</c>.</summary>
    public string SystemName { get; init; } = "rnncluster";

    /// <summary>
    /// The address peers dial and that goes into this node's identity; also where Kestrel listens when
    /// it is an IP address (otherwise Kestrel listens on every interface).
    /// </summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 lets the OS choose, and <see cref="RemoteTransport.LocalIdentity"/> then names the bound one.</summary>
    public int Port { get; init; }

    /// <summary>The single WebSocket path the listener accepts; every other request gets 404.</summary>
    public string Path { get; init; } = "/rnncluster";

    /// <summary>Frame, in-flight and connection limits (the same ones apply to every peer).</summary>
    public FrameLimits Limits { get; init; } = FrameLimits.Default;

    /// <summary>How often each connection sends a heartbeat; a phi-accrual detector is tuned to this.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A connection that has not completed the handshake in this time is closed (slow or silent dialers cost nothing).</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Shortest wait before redialling a peer; doubles per failed attempt up to <see cref="ReconnectMaxDelay"/>.</summary>
    public TimeSpan ReconnectMinDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Each back-off delay is multiplied by a random factor in [1 - j, 1 + j] so restarted peers do not redial in lockstep.</summary>
    public double ReconnectJitter { get; init; } = 0.2;

    /// <summary>Ordinary messages queued per connection before <see cref="RemoteTransport.SendAsync"/> waits (back-pressure).</summary>
    public int SendQueueCapacity { get; init; } = 64;

    /// <summary>Received messages buffered before connections stop reading (back-pressure onto the peers).</summary>
    public int InboundCapacity { get; init; } = 1024;

    /// <summary>How long a closing connection waits for the peer's close reply before it is aborted.</summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>TLS for every connection (see <see cref="TransportTls"/>); null runs plain WebSockets, protected by the HMAC handshake only.</summary>
    public TransportTls? Tls { get; init; }

    /// <summary>
    /// Asked about every peer after its handshake succeeded and before its connection is registered:
    /// returns why the peer is refused, or null to let it in (the cluster layer refuses downed
    /// incarnations this way). Called on connection threads; must be fast and thread-safe.
    /// <see cref="RemoteTransport.SetPeerGate"/> replaces it after construction.
    /// </summary>
    public Func<NodeIdentity, string?>? PeerGate { get; init; }

    /// <summary>Test-only delay and loss of ordinary outbound messages (see <see cref="TransportFaults"/>); null for none.</summary>
    public TransportFaults? Faults { get; init; }

    public RemoteTransportOptions Validate()
    {
        Limits.Validate();
        Require(!string.IsNullOrWhiteSpace(SystemName) && !SystemName.Contains('@', StringComparison.Ordinal), nameof(SystemName), SystemName, "must be a non-empty name without '@'");
        Require(!string.IsNullOrWhiteSpace(Host), nameof(Host), Host, "must be set");
        Require(Port is >= 0 and <= 65535, nameof(Port), Port, "must be in [0, 65535]");
        Require(Path.StartsWith('/'), nameof(Path), Path, "must start with '/'");
        Require(HeartbeatInterval > TimeSpan.Zero, nameof(HeartbeatInterval), HeartbeatInterval, "must be positive");
        Require(HandshakeTimeout > TimeSpan.Zero, nameof(HandshakeTimeout), HandshakeTimeout, "must be positive");
        Require(CloseTimeout > TimeSpan.Zero, nameof(CloseTimeout), CloseTimeout, "must be positive");
        Require(ReconnectMinDelay > TimeSpan.Zero, nameof(ReconnectMinDelay), ReconnectMinDelay, "must be positive");
        Require(ReconnectMaxDelay >= ReconnectMinDelay, nameof(ReconnectMaxDelay), ReconnectMaxDelay, "must be at least ReconnectMinDelay");
        Require(ReconnectJitter is >= 0 and < 1, nameof(ReconnectJitter), ReconnectJitter, "must be in [0, 1)");
        Require(SendQueueCapacity >= 1, nameof(SendQueueCapacity), SendQueueCapacity, "must be at least 1");
        Require(InboundCapacity >= 1, nameof(InboundCapacity), InboundCapacity, "must be at least 1");
        Tls?.Validate();
        Faults?.Validate();
        return this;
    }

    private static void Require(bool condition, string name, object value, string rule)
    {
        if (!condition)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{nameof(RemoteTransportOptions)}.{name} {rule}.");
        }
    }
}
