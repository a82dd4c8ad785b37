namespace RnnCluster.DataPlane.Transport;

/// <summary>
/// TLS for every connection of a <see cref="Tensors.TensorTransport"/>: the listener serves HTTPS with this
/// node's certificate, dialers use <c>wss://</c> and offer the same certificate to the peer. The HMAC
/// handshake still runs inside TLS: TLS protects the channel, the handshake proves cluster membership.
/// </summary>
/// <remarks>
/// <para>
/// With <see cref="CaPath"/> (the intended setup, and the only one that works with self-signed or
/// private certificates) both sides require a certificate from the peer and accept it only if it
/// chains to one of the certificates in that file; the system trust store plays no part. Host names
/// are then not compared: nodes are usually dialled by IP address, which changes more often than
/// certificates are reissued, and a chain to the cluster's own CA already says "a node of this
/// cluster". Which node it is, the HMAC handshake establishes, and a dialer closes a connection whose
/// peer is not the address it dialled. Issuing each node a certificate with its IP or DNS name in the
/// subject alternative names is still the expected setup, for tools that do check names.
/// </para>
/// <para>
/// Without <see cref="CaPath"/> no client certificate is requested, and a dialer accepts the
/// listener only if the system trust store trusts its certificate and the certificate names the
/// dialled host. That suits certificates from a public CA; with self-signed ones every dial fails.
/// </para>
/// <para>
/// Revocation is not checked (a cluster CA rarely publishes a CRL, and nodes may have no route to
/// one): to shut a node out, reissue from a new CA or change the cluster secret. Node certificates
/// need both the serverAuth and clientAuth extended key usages (or no EKU extension), since every
/// node both listens and dials; for the same reason a node's own certificate must chain to its CA file,
/// which is checked at start. Missing, unreadable or invalid files stop <see cref="Tensors.TensorTransport.StartAsync"/>
/// with a <see cref="TlsConfigurationException"/> naming the file; there is no fallback to plain WebSockets.
/// </para>
/// </remarks>
public sealed record TransportTls
{
    /// <summary>PEM file with this node's certificate (the first CERTIFICATE block is the node's).</summary>
    public required string CertificatePath { get; init; }

    /// <summary>PEM file with the certificate's unencrypted private key (PKCS#8, RSA or EC); protect it by file permissions.</summary>
    public required string KeyPath { get; init; }

    /// <summary>PEM file with the cluster CA certificate(s) peers must chain to; null trusts the system store instead (see remarks).</summary>
    public string? CaPath { get; init; }

    public TransportTls Validate()
    {
        Require(CertificatePath, nameof(CertificatePath));
        Require(KeyPath, nameof(KeyPath));
        if (CaPath is not null)
        {
            Require(CaPath, nameof(CaPath));
        }

        return this;
    }

    private static void Require(string? path, string name)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ArgumentException($"{nameof(TransportTls)}.{name} must be a file path.", name);
        }
    }
}
