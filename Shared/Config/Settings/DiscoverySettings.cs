using System.Globalization;
using System.Text.RegularExpressions;

namespace RnnCluster.Config;

/// <summary>
/// <c>cluster.discovery.*</c>: how a node finds its cluster. <c>seeds</c> joins through
/// <c>cluster.seeds</c>; <c>config</c> and <c>kubernetes</c> run Akka.Management's cluster bootstrap,
/// which asks every discovered node's management endpoint (<c>cluster.management</c>) for the cluster's members and lets
/// the node with the lowest address form a new cluster when nobody has one yet.
/// </summary>
public sealed partial record DiscoverySettings
{
    public static DiscoverySettings Default { get; } = new();

    public DiscoveryMethod Method { get; init; } = DiscoveryMethod.Seeds;

    /// <summary>The name looked up: the config entry's name, and <c>{0}</c> of <see cref="PodLabelSelector"/>.</summary>
    public string ServiceName { get; init; } = "rnncluster";

    /// <summary>Contact points that must answer before the lowest of them may form a new cluster.</summary>
    public int RequiredContactPoints { get; init; } = 2;

    /// <summary>How long the discovered set must stay unchanged before a new cluster is formed.</summary>
    public TimeSpan StableMargin { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Off: a node that finds no cluster keeps looking rather than forming one.</summary>
    public bool NewClusterEnabled { get; init; } = true;

    /// <summary><c>host:port</c> of every node's management endpoint (method <c>config</c>).</summary>
    public IReadOnlyList<string> ConfigEndpoints { get; init; } = [];

    /// <summary>Kubernetes label selector of the cluster's pods; <c>{0}</c> stands for <see cref="ServiceName"/>.</summary>
    public string PodLabelSelector { get; init; } = "app.kubernetes.io/name={0}";

    /// <summary>Namespace whose pods are listed; empty = the pod's own (from its service account).</summary>
    public string PodNamespace { get; init; } = "";

    public bool UsesBootstrap => Method != DiscoveryMethod.Seeds;

    public static DiscoverySettings Bind(ConfigSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var settings = new DiscoverySettings
        {
            Method = section.GetEnum("method", Default.Method, SettingNames.DiscoveryMethods),
            ServiceName = section.GetString("service-name", Default.ServiceName, n => NamePattern().IsMatch(n), "a name of letters, digits, '-' and '.' (it becomes a Kubernetes label value)"),
            RequiredContactPoints = section.GetInt("required-contact-points", Default.RequiredContactPoints, ValueRange.AtLeast(1)),
            StableMargin = section.GetDuration("stable-margin", Default.StableMargin, TimeSpan.Zero),
            NewClusterEnabled = section.GetBoolean("new-cluster-enabled", Default.NewClusterEnabled),
            ConfigEndpoints = section.GetStringList("config-endpoints", Default.ConfigEndpoints),
            PodLabelSelector = section.GetString("pod-label-selector", Default.PodLabelSelector, IsSelector, "a label selector such as \"app.kubernetes.io/name={0}\" ({0} = service-name; other braces doubled)"),
            PodNamespace = section.GetString("pod-namespace", Default.PodNamespace, n => n.Length == 0 || NamePattern().IsMatch(n), "a Kubernetes namespace name, or \"\" for the pod's own"),
        };
        foreach (var endpoint in settings.ConfigEndpoints)
        {
            if (!SeedAddress.TryParse(endpoint, out _))
            {
                throw section.Error("config-endpoints", $"'{endpoint}' is not host:port (a node's management endpoint)");
            }
        }

        if (settings.Method == DiscoveryMethod.Config && settings.ConfigEndpoints.Count == 0)
        {
            throw section.Error("config-endpoints", "method = config needs the host:management-port of every node that may form the cluster");
        }

        if (settings.Method == DiscoveryMethod.Config && settings.RequiredContactPoints > settings.ConfigEndpoints.Count)
        {
            throw section.Error("required-contact-points", $"is more than the {settings.ConfigEndpoints.Count} config-endpoints: no cluster could ever form");
        }

        return settings;
    }

    public void Write(HoconWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteName("method", SettingNames.DiscoveryMethods.ToName(Method));
        writer.Write("service-name", ServiceName);
        writer.Write("required-contact-points", RequiredContactPoints);
        writer.WriteDuration("stable-margin", StableMargin);
        writer.Write("new-cluster-enabled", NewClusterEnabled);
        writer.WriteStringList("config-endpoints", ConfigEndpoints);
        writer.Write("pod-label-selector", PodLabelSelector);
        writer.Write("pod-namespace", PodNamespace);
    }

    // Records compare lists by reference; settings compare by value.
    public bool Equals(DiscoverySettings? other) =>
        other is not null && Method == other.Method && ServiceName == other.ServiceName && RequiredContactPoints == other.RequiredContactPoints
        && StableMargin == other.StableMargin && NewClusterEnabled == other.NewClusterEnabled && ConfigEndpoints.SequenceEqual(other.ConfigEndpoints, StringComparer.Ordinal)
        && PodLabelSelector == other.PodLabelSelector && PodNamespace == other.PodNamespace;

    public override int GetHashCode() => HashCode.Combine(Method, ServiceName, RequiredContactPoints, ConfigEndpoints.Count);

    // The Kubernetes discovery fills the selector in with string.Format: a stray brace would fail there, at run time.
    private static bool IsSelector(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        try
        {
            _ = string.Format(CultureInfo.InvariantCulture, text, "x");
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    [GeneratedRegex("^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")]
    private static partial Regex NamePattern();
}
