using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RnnCluster.DataPlane.Transport;

/// <summary>
/// The loaded files of a <see cref="TransportTls"/> and the checks applied to a peer's certificate.
/// Loading reads each file on its own so an error can name the one at fault (the framework's
/// combined loader cannot tell a bad certificate file from a bad key file).
/// </summary>
internal sealed class TlsMaterial : IDisposable
{
    private static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");

    private readonly TimeProvider _time;

    private TlsMaterial(X509Certificate2 certificate, X509Certificate2Collection? authorities, TimeProvider time)
    {
        Certificate = certificate;
        Authorities = authorities;
        _time = time;
    }

    /// <summary>This node's certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The trust anchors peers must chain to; null when the system store decides.</summary>
    public X509Certificate2Collection? Authorities { get; }

    /// <exception cref="TlsConfigurationException">A file is missing, unreadable, or does not hold what it should.</exception>
    public static TlsMaterial Load(TransportTls tls, TimeProvider time)
    {
        var certificatePem = Read(tls.CertificatePath, "certificate");
        var keyPem = Read(tls.KeyPath, "key");
        var now = time.GetUtcNow();
        using (var certificateOnly = Parse(tls.CertificatePath, "certificate", "holds no valid PEM certificate", () => X509Certificate2.CreateFromPem(certificatePem)))
        {
            if (now < certificateOnly.NotBefore.ToUniversalTime() || now > certificateOnly.NotAfter.ToUniversalTime())
            {
                throw new TlsConfigurationException(
                    tls.CertificatePath,
                    $"TLS certificate file '{tls.CertificatePath}' holds a certificate ({certificateOnly.Subject}) valid from "
                    + $"{certificateOnly.NotBefore.ToUniversalTime():u} to {certificateOnly.NotAfter.ToUniversalTime():u}, not now ({now:u}).");
            }
        }

        var certificate = Parse(
            tls.KeyPath,
            "key",
            $"holds no unencrypted PEM private key matching the certificate in '{tls.CertificatePath}'",
            () => X509Certificate2.CreateFromPem(certificatePem, keyPem));
        if (OperatingSystem.IsWindows())
        {
            // SChannel cannot use the ephemeral key a PEM load gives; a PKCS#12 round trip stores it.
            // OpenSSL (Linux) uses it as it is.
            using var ephemeral = certificate;
            certificate = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), password: null);
        }

        if (tls.CaPath is null)
        {
            return new TlsMaterial(certificate, null, time);
        }

        try
        {
            var caPem = Read(tls.CaPath, "CA");
            var authorities = new X509Certificate2Collection();
            Parse(tls.CaPath, "CA", "holds a malformed PEM certificate", () =>
            {
                authorities.ImportFromPem(caPem);
                return authorities;
            });
            if (authorities.Count == 0)
            {
                throw new TlsConfigurationException(tls.CaPath, $"TLS CA file '{tls.CaPath}' holds no PEM certificate.");
            }

            // Every node both listens and dials, so peers trusting the same CA file would refuse a
            // certificate that fails here; better to say so at startup than in every peer's log.
            var material = new TlsMaterial(certificate, authorities, time);
            var refusal = material.CheckChain(certificate, null, ServerAuthentication) ?? material.CheckChain(certificate, null, ClientAuthentication);
            return refusal is null
                ? material
                : throw new TlsConfigurationException(
                    tls.CertificatePath,
                    $"TLS certificate file '{tls.CertificatePath}' holds a certificate that peers trusting the CA in '{tls.CaPath}' would refuse: {refusal}");
        }
        catch
        {
            certificate.Dispose();
            throw;
        }
    }

    /// <summary>A dialer's check of the listener; null accepts, otherwise why not.</summary>
    public string? CheckServer(X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            return "the listener presented no certificate";
        }

        if (Authorities is null)
        {
            // The system store decided, host name included.
            return errors == SslPolicyErrors.None ? null : $"{errors} against the system trust store{Describe(presented)}";
        }

        return CheckChain(certificate, presented, ServerAuthentication);
    }

    /// <summary>A listener's check of a dialer (only called when a CA is configured); null accepts.</summary>
    public string? CheckClient(X509Certificate? certificate, X509Chain? presented) =>
        certificate is null ? "the dialer presented no certificate" : CheckChain(certificate, presented, ClientAuthentication);

    /// <summary>
    /// A check for a callback that cannot tell which side it runs on (Akka.Remote's serves both): with a CA
    /// the peer must be fit to be both listener and dialer, as every node is and as <see cref="Load"/>
    /// demands of this node's own certificate; without one only dialers are called, so the listener rule holds.
    /// </summary>
    public string? CheckPeer(X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors) =>
        CheckServer(certificate, presented, errors) ?? (Authorities is null ? null : CheckClient(certificate, presented));

    public void Dispose()
    {
        Certificate.Dispose();
        if (Authorities is not null)
        {
            foreach (var authority in Authorities)
            {
                authority.Dispose();
            }
        }
    }

    /// <summary>
    /// Builds the peer's chain against the configured CA only. The policy errors the TLS stack computed
    /// are ignored on purpose: they come from the system store, and name mismatches are accepted here
    /// (see <see cref="TransportTls"/> for why).
    /// </summary>
    private string? CheckChain(X509Certificate certificate, X509Chain? presented, Oid usage)
    {
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        using var chain = new X509Chain();
        var policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.AddRange(Authorities!);
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.DisableCertificateDownloads = true;
        policy.VerificationTime = _time.GetUtcNow().UtcDateTime;
        policy.ApplicationPolicy.Add(usage);
        if (presented is not null)
        {
            // Intermediates the peer sent help build the path; only CustomTrustStore anchors it.
            policy.ExtraStore.AddRange(presented.ChainPolicy.ExtraStore);
        }

        try
        {
            if (chain.Build(leaf))
            {
                return null;
            }

            var problems = string.Join("; ", chain.ChainStatus.Select(s => $"{s.Status} ({s.StatusInformation.Trim()})"));
            return $"certificate '{leaf.Subject}' issued by '{leaf.Issuer}' does not chain to the configured CA: {problems}";
        }
        finally
        {
            foreach (var element in chain.ChainElements)
            {
                element.Certificate.Dispose();
            }
        }
    }

    private static string Describe(X509Chain? chain)
    {
        if (chain is null || chain.ChainStatus.Length == 0)
        {
            return "";
        }

        return ": " + string.Join("; ", chain.ChainStatus.Select(s => $"{s.Status} ({s.StatusInformation.Trim()})"));
    }

    private static string Read(string path, string kind)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or System.Security.SecurityException)
        {
            throw new TlsConfigurationException(path, $"TLS {kind} file '{path}' cannot be read: {e.Message}", e);
        }
    }

    private static T Parse<T>(string path, string kind, string problem, Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new TlsConfigurationException(path, $"TLS {kind} file '{path}' {problem}: {e.Message}", e);
        }
    }
}
