namespace RnnCluster.Config;

/// <summary>When the run monitor serves its dashboard, metrics and health routes (<c>monitor.enabled</c>).</summary>
public enum MonitorMode
{
    Off,

    /// <summary>In <c>train --cluster</c> only (the coordinator serves it).</summary>
    Cluster,

    /// <summary>In every mode.</summary>
    Always,
}

/// <summary>
/// <c>monitor.*</c>: the run's HTTP server (docs/monitoring.md). It listens on loopback unless
/// <c>monitor.host</c> names another address: the server has no authentication, so reaching it from other
/// machines must be asked for explicitly.
/// </summary>
public sealed record MonitorSettings
{
    public static MonitorSettings Default { get; } = new();

    public MonitorMode Enabled { get; init; } = MonitorMode.Cluster;

    /// <summary>The address to listen on: an IP address, <c>localhost</c>, or a host name (= every interface).</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 = any free port.</summary>
    public int Port { get; init; } = 8480;

    /// <summary>Whether a run in this mode serves (<paramref name="requested"/>: <c>train --dashboard</c>).</summary>
    public bool Serves(bool cluster, bool requested) =>
        requested || Enabled == MonitorMode.Always || (Enabled == MonitorMode.Cluster && cluster);

    public static MonitorSettings Bind(ConfigSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        return new()
        {
            Enabled = section.GetEnum("enabled", Default.Enabled, SettingNames.MonitorModes),
            Host = section.GetString("host", Default.Host, h => !string.IsNullOrWhiteSpace(h) && !h.Contains('/', StringComparison.Ordinal) && !h.Contains(' ', StringComparison.Ordinal), "an IP address or host name"),
            Port = section.GetInt("port", Default.Port, ValueRange.Between(0, true, 65535, true)),
        };
    }

    public void Write(HoconWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteName("enabled", SettingNames.MonitorModes.ToName(Enabled));
        writer.Write("host", Host);
        writer.Write("port", Port);
    }
}
