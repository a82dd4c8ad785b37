using Akka.Remote.Transport.DotNetty;
using Microsoft.Extensions.Logging;
using RnnCluster.DataPlane.Transport;
using AkkaConfig = Akka.Configuration.Config;
using AkkaConfigurationFactory = Akka.Configuration.ConfigurationFactory;

namespace RnnCluster.Parallel.Cluster;

/// <summary>
/// Akka.Remote over TLS from <c>cluster.tls</c>: the dot-netty transport switched to TLS, given the
/// certificate the data plane loads from the same PEM files and our peer check in place of Akka's.
/// </summary>
/// <remarks>
/// <para>
/// Akka's own check (used when no validator is given) trusts the system store and ignores host names;
/// ours applies the data plane's rules (<see cref="TransportTls"/>): with <c>ca</c>, both sides must
/// present a certificate that chains to that CA alone (mutual TLS), names not compared; without it,
/// the listener asks for no certificate and the dialer wants one the system store trusts for the
/// dialled host.
/// </para>
/// <para>
/// A TLS node's address is <c>akka.ssl.tcp://…</c>, and its listener takes nothing but a TLS handshake:
/// a plaintext node, random bytes or a refused certificate end that connection (logged) and the node
/// carries on. A handshake the node itself started that fails, though, makes Akka 1.5 run the node's
/// coordinated shutdown (reason "TLS handshake failed on outbound connection"): a worker then exits as
/// one the cluster downed, and is started again by its launcher.
/// </para>
/// </remarks>
internal static class AkkaRemoteTls
{
    /// <summary>The address protocol of a TLS node; a plaintext node's is <c>akka.tcp</c>.</summary>
    public const string Protocol = "akka.ssl.tcp";

    /// <summary>Turns TLS on; the certificate comes from <see cref="Setup"/>, not from HOCON.</summary>
    public static readonly AkkaConfig On = AkkaConfigurationFactory.ParseString("akka.remote.dot-netty.tcp.enable-ssl = on");

    /// <summary>What the transport needs of <paramref name="tls"/>; it must stay undisposed while the system runs.</summary>
    public static DotNettySslSetup Setup(TlsMaterial tls, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(tls);
        ArgumentNullException.ThrowIfNull(logger);
        return new DotNettySslSetup(
            tls.Certificate,
            suppressValidation: false,
            requireMutualAuthentication: tls.Authorities is not null,
            validateCertificateHostname: false,
            customValidator: (certificate, chain, peer, errors, _) =>
            {
                var refusal = tls.CheckPeer(certificate, chain, errors);
                if (refusal is not null)
                {
                    ClusterRunLog.RemoteCertificateRefused(logger, peer, refusal);
                }

                return refusal is null;
            });
    }

    /// <summary>Logs that TLS is on, with what peers are checked against (<paramref name="caPath"/> empty: the system store).</summary>
    public static void LogEnabled(TlsMaterial tls, string caPath, ILogger logger) =>
        ClusterRunLog.RemoteTlsEnabled(
            logger, tls.Certificate.Subject, tls.Certificate.NotAfter.ToUniversalTime(), caPath.Length == 0 ? "the system trust store" : $"the CA in '{caPath}' only");
}
