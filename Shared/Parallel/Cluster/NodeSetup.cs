using System.Security.Cryptography;
using System.Text;
using RnnCluster.Config;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Transport;

namespace RnnCluster.Parallel.Cluster;

/// <summary>What every cluster node derives from <c>cluster.*</c> before it starts: its incarnation, the secret, TLS, test faults.</summary>
public static class NodeSetup
{
    /// <summary>Name of the variable <c>cluster.test-faults = true</c> reads delay injection from.</summary>
    public const string FaultsVariable = "RNNCLUSTER_FAULTS";

    /// <summary>
    /// A new incarnation for a node starting now: wall-clock microseconds, above <paramref name="previous"/>.
    /// It tells a restarted worker from its earlier life (together with its address: two processes may
    /// start in the same microsecond).
    /// </summary>
    public static ulong NewIncarnation(TimeProvider time, ulong previous = 0)
    {
        ArgumentNullException.ThrowIfNull(time);
        var now = (ulong)time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
        return Math.Max(now, previous + 1);
    }

    /// <summary>
    /// The secret from <c>cluster.secret</c>. Empty means the fixed loopback key, which only a node
    /// bound to a loopback address may use: anything reachable from other machines needs a real one.
    /// </summary>
    public static ClusterSecret LoadSecret(ClusterSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Secret.Length > 0)
        {
            return ClusterSecret.Load(settings.Secret);
        }

        if (!settings.IsLoopback)
        {
            throw new ConfigException(
                $"cluster.secret: required because cluster.host = \"{settings.Host}\" is not a loopback address; set it to \"file:/path/to/secret\" or \"env:VARIABLE\" (>= {ClusterSecret.MinimumBytes} bytes; e.g. head -c 32 /dev/urandom > secret)");
        }

        return ClusterSecret.FromBytes(SHA256.HashData(Encoding.UTF8.GetBytes("rnncluster: loopback only, no secret configured")), "the built-in loopback-only key");
    }

    /// <summary>The files of <c>cluster.tls</c>, shared by Akka.Remote and the data plane; null when TLS is off (no certificate).</summary>
    public static TransportTls? TlsFiles(ClusterSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.TlsCertificate.Length == 0
            ? null
            : new TransportTls { CertificatePath = settings.TlsCertificate, KeyPath = settings.TlsKey, CaPath = settings.TlsCa.Length == 0 ? null : settings.TlsCa };
    }

    /// <summary>
    /// <c>cluster.tls</c> loaded and checked with the data plane's own loader, or null when TLS is off.
    /// Its errors become <see cref="ConfigException"/>s that lead with the key naming the file, since
    /// the key is what the user edits.
    /// </summary>
    /// <exception cref="ConfigException">A file is missing, unreadable or does not hold what its key says.</exception>
    internal static TlsMaterial? LoadTls(ClusterSettings settings, TimeProvider time)
    {
        if (TlsFiles(settings) is not { } files)
        {
            return null;
        }

        try
        {
            return TlsMaterial.Load(files, time);
        }
        catch (TlsConfigurationException e)
        {
            // One file may serve as both certificate and key: then both keys are named.
            string?[] paths = [files.CertificatePath, files.KeyPath, files.CaPath];
            var keys = new[] { "certificate", "key", "ca" }.Where((_, i) => paths[i] == e.Path).Select(k => $"cluster.tls.{k}").ToList();
            throw new ConfigException($"{(keys.Count == 0 ? "cluster.tls" : string.Join(" and ", keys))}: {e.Message}", e);
        }
    }

    /// <summary>The fault spec to inject: only when <c>cluster.test-faults</c> is on and the variable is set.</summary>
    public static string? FaultsFrom(ClusterSettings settings, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var text = settings.TestFaults ? (environment ?? Environment.GetEnvironmentVariable)(FaultsVariable) : null;
        return string.IsNullOrWhiteSpace(text) ? null : text;
    }
}
