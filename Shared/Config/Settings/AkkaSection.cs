using System.Reflection;
using AkkaConfig = Akka.Configuration.Config;
using AkkaConfigurationFactory = Akka.Configuration.ConfigurationFactory;
using AkkaHoconValue = Akka.Configuration.Hocon.HoconValue;

namespace RnnCluster.Config;

/// <summary>
/// <c>akka.*</c>: settings of Akka.NET itself (actors, Akka.Remote, Akka.Cluster, Akka.Cluster.Tools),
/// handed to the actor system as written rather than bound to typed settings. They are per node,
/// so they are not part of <see cref="RnnClusterSettings"/> (nor of checkpoints). Each key must exist
/// in Akka's own reference configuration, so a typo is refused with a suggestion instead of being
/// ignored by Akka; only maps whose children are names the user chooses are exempt.
/// </summary>
public static class AkkaSection
{
    public const string Key = "akka";

    /// <summary>Maps whose keys are names the user chooses (serializer names, type names, actor paths, role names).</summary>
    private static readonly string[] UserDefinedMaps =
    [
        "akka.actor.serializers",
        "akka.actor.serialization-bindings",
        "akka.actor.serialization-identifiers",
        "akka.actor.deployment",
        "akka.cluster.role",
        "akka.discovery.config.services",
        "akka.management.http.routes",
    ];

    /// <summary>
    /// Keys set from another section, refused here so the two cannot disagree: TLS comes from
    /// <c>cluster.tls</c> alone, for Akka.Remote and the data plane alike, and cannot be turned off.
    /// </summary>
    private static readonly Dictionary<string, string> SetElsewhere = new(StringComparer.Ordinal)
    {
        ["akka.remote.dot-netty.tcp.enable-ssl"] = "cluster.tls",
        ["akka.remote.dot-netty.tcp.ssl"] = "cluster.tls",
    };

    /// <summary>The finest <c>akka.scheduler.tick-duration</c> Akka.NET accepts (declared before the map that reads it: static initializers run in order).</summary>
    public static TimeSpan MinimumSchedulerTick { get; } = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// Values Akka.NET refuses only when it creates the system (with an exception, after the node has
    /// started its dashboard), checked here so the file and line are named: the scheduler's tick.
    /// </summary>
    private static readonly Dictionary<string, TimeSpan> MinimumDurations = new(StringComparer.Ordinal)
    {
        ["akka.scheduler.tick-duration"] = MinimumSchedulerTick,
    };

    private static readonly Lazy<AkkaConfig> Reference = new(LoadReference);

    /// <summary>
    /// The <c>akka</c> section of <paramref name="tree"/>, checked, and nothing else (empty when there
    /// is none): the actor system lays it over what it derives from <c>cluster.*</c>, its own
    /// defaults and Akka's (<c>ClusterSystem.Config</c>'s <c>extra</c>).
    /// </summary>
    public static AkkaConfig From(ConfigTree tree)
    {
        ArgumentNullException.ThrowIfNull(tree);
        if (!tree.TryGetValue(Key, out var akka) || akka.IsNull)
        {
            return AkkaConfig.Empty;
        }

        Validate(akka);
        return tree.Config.GetValue(Key).AtKey(Key);
    }

    /// <summary>Refuses keys that Akka's reference configuration does not have, all of them in one error.</summary>
    internal static void Validate(ConfigNode akka)
    {
        ArgumentNullException.ThrowIfNull(akka);
        if (!akka.IsObject)
        {
            throw ConfigException.ForValue(akka.Path, akka, "expected an object");
        }

        var problems = new List<string>();
        Check(akka, Reference.Value.GetValue(Key), problems);
        if (problems.Count > 0)
        {
            throw new ConfigException(string.Join(Environment.NewLine, problems));
        }
    }

    private static string? BelowMinimum(ConfigNode value, TimeSpan minimum)
    {
        try
        {
            return HoconConversions.ToDuration(value, value.Path) >= minimum
                ? null
                : ConfigException.ForValue(value.Path, value, $"must be at least {HoconWriter.FormatDuration(minimum)} (Akka.NET refuses less)").Message;
        }
        catch (ConfigException e)
        {
            return e.Message;
        }
    }

    private static void Check(ConfigNode user, AkkaHoconValue? reference, List<string> problems)
    {
        if (UserDefinedMaps.Contains(user.Path, StringComparer.Ordinal))
        {
            return;
        }

        var known = reference?.GetObject()?.Items;
        foreach (var key in user.Keys)
        {
            if (!user.TryGetField(key, out var child))
            {
                continue;
            }

            if (SetElsewhere.TryGetValue(child.Path, out var owner))
            {
                problems.Add(ConfigException.ForValue(child.Path, child, $"set from {owner} (the same PEM files for Akka.Remote and the data plane); remove it here").Message);
            }
            else if (known is not null && known.TryGetValue(key, out var referenceChild))
            {
                if (child.IsObject && referenceChild.IsObject())
                {
                    Check(child, referenceChild, problems);
                }
                else if (MinimumDurations.TryGetValue(child.Path, out var minimum) && BelowMinimum(child, minimum) is { } refusal)
                {
                    problems.Add(refusal);
                }
            }
            else if (!IsDispatcher(child))
            {
                var suggestion = known is null ? null : EditDistance.Closest(key, known.Keys);
                var hint = suggestion is not null
                    ? $"unknown key; did you mean '{user.Path}.{suggestion}'?"
                    : "unknown key; not a setting of Akka, Akka.Remote, Akka.Cluster, Akka.Cluster.Tools, Akka.Discovery or Akka.Management";
                problems.Add(ConfigException.ForValue(child.Path, child, hint).Message);
            }
        }
    }

    /// <summary>A dispatcher the user defines: a new object directly under <c>akka.actor</c> whose name ends in <c>-dispatcher</c>.</summary>
    private static bool IsDispatcher(ConfigNode node) =>
        node.IsObject
        && node.Path.StartsWith("akka.actor.", StringComparison.Ordinal)
        && node.Path.IndexOf('.', "akka.actor.".Length) < 0
        && node.Path.EndsWith("-dispatcher", StringComparison.Ordinal);

    /// <summary>
    /// Every <c>.conf</c> resource of Akka, Akka.Remote, Akka.Cluster, Akka.Cluster.Tools, Akka.Discovery (with
    /// its Kubernetes method) and Akka.Management (the cluster bootstrap of <c>cluster.discovery</c>), merged.
    /// </summary>
    private static AkkaConfig LoadReference()
    {
        Assembly[] assemblies =
        [
            typeof(AkkaConfig).Assembly,
            typeof(Akka.Remote.RemoteSettings).Assembly,
            typeof(Akka.Cluster.Cluster).Assembly,
            typeof(Akka.Cluster.Tools.Singleton.ClusterSingleton).Assembly,
            typeof(Akka.Discovery.Discovery).Assembly,
            typeof(Akka.Discovery.KubernetesApi.KubernetesDiscovery).Assembly,
            typeof(Akka.Management.Dsl.AkkaManagement).Assembly,
        ];
        var merged = AkkaConfig.Empty;
        foreach (var assembly in assemblies)
        {
            foreach (var name in assembly.GetManifestResourceNames().Where(n => n.EndsWith(".conf", StringComparison.Ordinal)))
            {
                merged = merged.WithFallback(AkkaConfigurationFactory.FromResource(name, assembly));
            }
        }

        return merged.HasPath("akka.cluster.split-brain-resolver")
            ? merged
            : throw new InvalidOperationException("Akka's reference configuration was not found in its assemblies' resources.");
    }
}
