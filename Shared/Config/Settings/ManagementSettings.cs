namespace RnnCluster.Config;

/// <summary>
/// <c>cluster.management.*</c>: the node's own HTTP endpoint, which answers health probes (<c>/alive</c>,
/// <c>/ready</c>) and, with a bootstrap discovery method, the other nodes' questions about the cluster
/// (<c>/bootstrap/seed-nodes</c>).
/// </summary>
public sealed record ManagementSettings
{
    public static ManagementSettings Default { get; } = new();

    /// <summary>TCP port; 0 = no endpoint (allowed only with <c>cluster.discovery.method = seeds</c>).</summary>
    public int Port { get; init; }

    /// <summary>The address the other nodes reach the endpoint at, exactly as discovery reports it; empty = <c>cluster.host</c>.</summary>
    public string AdvertisedHost { get; init; } = "";

    /// <param name="discovery">The node's discovery, already bound: a bootstrap needs an endpoint.</param>
    public static ManagementSettings Bind(ConfigSection section, DiscoverySettings discovery)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(discovery);
        var settings = new ManagementSettings
        {
            Port = section.GetInt("port", Default.Port, ValueRange.Between(0, true, 65535, true)),
            AdvertisedHost = section.GetString("advertised-host", Default.AdvertisedHost, h => !h.Contains('/', StringComparison.Ordinal) && !h.Contains(' ', StringComparison.Ordinal), "a host name or IP address, or \"\" for cluster.host"),
        };
        if (discovery.UsesBootstrap && settings.Port == 0)
        {
            throw section.Error("port", $"cluster.discovery.method = {SettingNames.DiscoveryMethods.ToName(discovery.Method)} finds the cluster through every node's management endpoint: give it a port (8558 is customary)");
        }

        return settings;
    }

    public void Write(HoconWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write("port", Port);
        writer.Write("advertised-host", AdvertisedHost);
    }
}
