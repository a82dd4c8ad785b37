using RnnCluster.Config;

namespace RnnCluster.Tests.Cluster.Node;

public sealed class ClusterSettingsTests
{
    [Fact]
    public void Seeds_tls_and_secret_are_read_from_the_cluster_section()
    {
        var s = ConfigLoader.LoadText(
            "cluster { host = \"10.0.0.5\", seeds = [\"10.0.0.1:2552\", \"[::1]:2553\"], secret = \"env:RNN_SECRET\", tls { certificate = a.pem, key = k.pem, ca = ca.pem } }",
            "test.hocon", []).Cluster;
        Assert.Equal(["10.0.0.1:2552", "[::1]:2553"], s.Seeds);
        Assert.Equal("env:RNN_SECRET", s.Secret);
        Assert.Equal(("a.pem", "k.pem", "ca.pem"), (s.TlsCertificate, s.TlsKey, s.TlsCa));
        Assert.True(SeedAddress.TryParse("[::1]:2553", out var v6));
        Assert.Equal(new SeedAddress("::1", 2553), v6);
    }

    [Theory]
    [InlineData("cluster.seeds = [\"nohost\"]", "cluster.seeds")]
    [InlineData("cluster.secret = \"plain-text-secret\"", "cluster.secret")]
    [InlineData("cluster.tls.certificate = a.pem", "cluster.tls")]
    [InlineData("cluster.tls { certificate = a.pem, key = k.pem, ca = c.pem, cipher = x }", "cipher")]
    [InlineData("cluster.min-workers = 0", "cluster.min-workers")]
    [InlineData("cluster.data-plane-port = 65536", "cluster.data-plane-port = 65536 at bad.hocon:1: must be")]
    [InlineData("cluster { port = 2600, data-plane-port = 2600 }", "cluster.data-plane-port = 2600 at bad.hocon:1: must differ from cluster.port = 2600")]
    [InlineData("cluster.shared-memory = sometimes", "cluster.shared-memory")]
    [InlineData("cluster.shared-memory-ring-size = 64KiB", "cluster.shared-memory-ring-size")]
    [InlineData("cluster.shared-memory-ring-size = 2GiB", "cluster.shared-memory-ring-size")]
    public void Bad_cluster_settings_name_the_key(string hocon, string named)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadText(hocon, "bad.hocon", []));
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Shared_memory_is_on_with_a_16MiB_ring_unless_set_and_reaches_the_data_plane()
    {
        var defaults = ConfigLoader.LoadText("", "empty.hocon", []).Cluster;
        Assert.True(defaults.SharedMemory);
        Assert.Equal(16L << 20, defaults.SharedMemoryRingSize);
        var set = ConfigLoader.LoadText("cluster { shared-memory = off, shared-memory-ring-size = 1MiB }", "set.hocon", []).Cluster;
        Assert.False(set.SharedMemory);
        Assert.Equal(1L << 20, set.SharedMemoryRingSize);
    }

    [Fact]
    public void The_data_plane_port_is_any_free_one_unless_set()
    {
        Assert.Equal(0, ConfigLoader.LoadText("", "empty.hocon", []).Cluster.DataPlanePort);
        Assert.Equal(2553, ConfigLoader.LoadText("cluster.data-plane-port = 2553", "fixed.hocon", []).Cluster.DataPlanePort);
    }

    [Fact]
    public void RNNCLUSTER_SET_holds_semicolon_separated_overrides_that_the_command_line_overrides()
    {
        var fromEnvironment = ConfigOverrides.FromEnvironment(name => name == "RNNCLUSTER_SET" ? "cluster.host=10.0.0.7; cluster.port=4000;" : null);
        Assert.Equal(["cluster.host=10.0.0.7", "cluster.port=4000"], fromEnvironment);
        var settings = ConfigLoader.Load(null, [.. fromEnvironment, "cluster.port=5000"]);
        Assert.Equal(("10.0.0.7", 5000), (settings.Cluster.Host, settings.Cluster.Port));
        Assert.Empty(ConfigOverrides.FromEnvironment(_ => null));
    }
}
