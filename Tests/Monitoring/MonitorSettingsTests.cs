using RnnCluster.Config;
using RnnCluster.Tests.Config;

namespace RnnCluster.Tests.Monitoring;

public sealed class MonitorSettingsTests
{
    [Fact]
    public void The_defaults_serve_on_loopback_port_8480_only_in_cluster_mode_or_when_asked()
    {
        var monitor = ConfigLoader.Load(null, [], Env.Empty).Monitor;
        Assert.Equal(new MonitorSettings { Enabled = MonitorMode.Cluster, Host = "127.0.0.1", Port = 8480 }, monitor);
        Assert.True(monitor.Serves(cluster: true, requested: false));
        Assert.False(monitor.Serves(cluster: false, requested: false));
        Assert.True(monitor.Serves(cluster: false, requested: true));
        Assert.False(ConfigLoader.Load(null, ["monitor.enabled=off"], Env.Empty).Monitor.Serves(cluster: true, requested: false));
        Assert.True(ConfigLoader.Load(null, ["monitor.enabled=always"], Env.Empty).Monitor.Serves(cluster: false, requested: false));
    }

    [Theory]
    [InlineData("monitor.enabled=sometimes", "monitor.enabled")]
    [InlineData("monitor.port=70000", "monitor.port")]
    [InlineData("monitor.host=\"a b\"", "monitor.host")]
    public void A_bad_monitor_setting_is_refused_naming_its_key(string setting, string key)
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load(null, [setting], Env.Empty));
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_monitor_section_round_trips_through_the_runs_saved_settings()
    {
        var settings = ConfigLoader.Load(null, ["monitor.enabled=always", "monitor.host=\"0.0.0.0\"", "monitor.port=0"], Env.Empty);
        Assert.Equal(settings.Monitor, ConfigLoader.LoadText(settings.ToHocon(), "config.hocon", [], Env.Empty).Monitor);
    }
}
