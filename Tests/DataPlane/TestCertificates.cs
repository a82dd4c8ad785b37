using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using RnnCluster.DataPlane.Transport;

namespace RnnCluster.Tests.DataPlane;

/// <summary>
/// A throw-away PKI in a temporary directory: CAs and node certificates made with
/// <see cref="CertificateRequest"/> and written as PEM, the form <see cref="TransportTls"/> reads.
/// EC P-256 keys, because they are made in microseconds.
/// </summary>
internal sealed class TestCertificates : IDisposable
{
    private static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");

    private readonly Dictionary<string, (X509Certificate2 Certificate, ECDsa Key)> _authorities = new(StringComparer.Ordinal);

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("rnncluster-tls-").FullName;

    /// <summary>Creates a self-signed CA and writes its certificate to <c>NAME.ca.pem</c>; returns that path.</summary>
    public string CreateAuthority(string name)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name} test CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var now = DateTimeOffset.UtcNow;
        var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
        _authorities.Add(name, (certificate, key));
        var path = Path.Combine(Directory, $"{name}.ca.pem");
        File.WriteAllText(path, certificate.ExportCertificatePem());
        return path;
    }

    /// <summary>
    /// Issues a node certificate from the CA <paramref name="authority"/> (serverAuth and clientAuth) with
    /// the given subject alternative names, and writes <c>NAME.pem</c> and <c>NAME.key</c>.
    /// </summary>
    public TransportTls CreateNode(string name, string authority, string? caPath, IEnumerable<string>? dnsNames = null, IEnumerable<IPAddress>? addresses = null, TimeSpan? validFor = null)
    {
        var (issuer, _) = _authorities[authority];
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ServerAuthentication, ClientAuthentication], critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var names = new SubjectAlternativeNameBuilder();
        foreach (var dns in dnsNames ?? ["localhost"])
        {
            names.AddDnsName(dns);
        }

        foreach (var address in addresses ?? [IPAddress.Loopback])
        {
            names.AddIpAddress(address);
        }

        request.CertificateExtensions.Add(names.Build());
        var now = DateTimeOffset.UtcNow;
        var notAfter = validFor is { } span ? now + span : now.AddDays(7);
        using var certificate = request.Create(issuer, now.AddDays(-1), notAfter, RandomNumberGenerator.GetBytes(16));
        var certificatePath = Path.Combine(Directory, $"{name}.pem");
        var keyPath = Path.Combine(Directory, $"{name}.key");
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return new TransportTls { CertificatePath = certificatePath, KeyPath = keyPath, CaPath = caPath };
    }

    public void Dispose()
    {
        foreach (var (certificate, key) in _authorities.Values)
        {
            certificate.Dispose();
            key.Dispose();
        }

        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
