using System.Security.Cryptography;
using System.Text;
using RnnCluster.Actors;
using RnnCluster.Config;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Transport;

namespace RnnCluster.Cluster;

/// <summary>What a <see cref="ClusterNode"/> is: its settings, role, seeds and incarnation.</summary>
public sealed record ClusterNodeOptions
{
    public const string CoordinatorRole = "coordinator";
    public const string WorkerRole = "worker";
    public const string SystemName = "rnncluster";

    public required ClusterSettings Settings { get; init; }

    /// <summary><see cref="CoordinatorRole"/> (the leader and first seed) or <see cref="WorkerRole"/>.</summary>
    public required string Role { get; init; }

    /// <summary>Seeds to join through (workers); the settings' seeds plus <c>--seed</c>s.</summary>
    public IReadOnlyList<SeedAddress> Seeds { get; init; } = [];

    /// <summary>Larger on every start of a node, so a restarted process is told apart from its previous life.</summary>
    public required ulong Incarnation { get; init; }

    public string Device { get; init; } = "cpu";

    public int Threads { get; init; }

    public SupervisorStrategy UserGuardianStrategy { get; init; } = SupervisorStrategy.Default;

    /// <summary>The test-only transport faults (delay/loss), when <c>cluster.test-faults</c> allows them.</summary>
    public string? TestFaults { get; init; }

    public bool IsLeader => Role == CoordinatorRole;

    /// <summary>A new incarnation number from the wall clock: later starts get larger numbers.</summary>
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

    internal RemoteTransportOptions TransportOptions() => new()
    {
        SystemName = SystemName,
        Host = Settings.Host,
        Port = Settings.Port,
        HeartbeatInterval = Settings.HeartbeatInterval,
        Limits = FrameLimits.Default with { MaxFrameBytes = (int)Settings.ChunkSize },
        Tls = Settings.TlsCertificate.Length == 0
            ? null
            : new TransportTls { CertificatePath = Settings.TlsCertificate, KeyPath = Settings.TlsKey, CaPath = Settings.TlsCa.Length == 0 ? null : Settings.TlsCa },
        Faults = TestFaults is null ? null : ParseFaults(TestFaults),
    };

    /// <summary>Name of the variable <c>cluster.test-faults = true</c> reads delay/loss injection from.</summary>
    public const string FaultsVariable = "RNNCLUSTER_FAULTS";

    /// <summary>The fault spec to inject: only when <c>cluster.test-faults</c> is on and the variable is set.</summary>
    public static string? FaultsFrom(ClusterSettings settings, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var text = settings.TestFaults ? (environment ?? Environment.GetEnvironmentVariable)(FaultsVariable) : null;
        return string.IsNullOrWhiteSpace(text) ? null : text;
    }

    private static TransportFaults ParseFaults(string text)
    {
        try
        {
            return TransportFaults.Parse(text);
        }
        catch (FormatException e)
        {
            throw new ConfigException($"{FaultsVariable} (read because cluster.test-faults = true): {e.Message}");
        }
    }

    internal FailureDetectorOptions DetectorOptions() => new()
    {
        HeartbeatInterval = Settings.HeartbeatInterval,
        AcceptableHeartbeatPause = Settings.AcceptableHeartbeatPause,
        Threshold = Settings.PhiThreshold,
        FirstHeartbeatEstimate = Settings.HeartbeatInterval,
    };
}
