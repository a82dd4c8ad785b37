using RnnCluster.Config;

namespace RnnCluster.Tests.Config;

/// <summary>The <c>akka</c> section: checked against Akka's reference configuration, passed through to the actor system.</summary>
public sealed class AkkaSectionTests
{
    private static string ErrorOf(string text) =>
        Assert.Throws<ConfigException>(() => ConfigLoader.LoadText(text, "cluster.hocon", [], Env.Empty)).Message;

    [Fact]
    public void A_misspelled_akka_key_is_refused_with_the_key_it_resembles()
    {
        Assert.Equal(
            "akka.cluster.split-brain-resolver.stable-aftr = 5s at cluster.hocon:3: unknown key; did you mean 'akka.cluster.split-brain-resolver.stable-after'?",
            ErrorOf("akka {\n  cluster.split-brain-resolver {\n    stable-aftr = 5s\n  }\n}\n"));
    }

    [Fact]
    public void A_scheduler_tick_below_what_akka_accepts_is_refused_with_its_line()
    {
        Assert.Equal(
            "akka.scheduler.tick-duration = 5ms at cluster.hocon:2: must be at least 10ms (Akka.NET refuses less)",
            ErrorOf("akka {\n  scheduler.tick-duration = 5ms\n}\n"));
        Assert.StartsWith("akka.scheduler.tick-duration = soon at cluster.hocon:1: expected a duration", ErrorOf("akka.scheduler.tick-duration = soon\n"), StringComparison.Ordinal);
    }

    [Fact]
    public void A_misspelled_akka_section_is_refused_with_the_section_it_resembles()
    {
        Assert.Equal(
            "akka.clustr = {min-nr-of-members = 3} at cluster.hocon:1: unknown key; did you mean 'akka.cluster'?",
            ErrorOf("akka.clustr { min-nr-of-members = 3 }\n"));
    }

    [Fact]
    public void An_akka_key_like_no_setting_at_all_says_so()
    {
        Assert.Equal(
            "akka.remote.tensor-lane = on at cluster.hocon:1: unknown key; not a setting of Akka, Akka.Remote, Akka.Cluster, Akka.Cluster.Tools, Akka.Discovery or Akka.Management",
            ErrorOf("akka.remote.tensor-lane = on\n"));
    }

    [Fact]
    public void Every_unknown_akka_key_is_named_in_one_error()
    {
        var message = ErrorOf("akka.loglevl = DEBUG\nakka.cluster.min-nr-of-member = 3\n");

        Assert.Contains("akka.loglevl = DEBUG at cluster.hocon:1: unknown key; did you mean 'akka.loglevel'?", message, StringComparison.Ordinal);
        Assert.Contains("akka.cluster.min-nr-of-member = 3 at cluster.hocon:2: unknown key; did you mean 'akka.cluster.min-nr-of-members'?", message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_akka_value_that_is_not_an_object_is_a_type_error()
    {
        Assert.Equal("akka = 5 at cluster.hocon:1: expected an object", ErrorOf("akka = 5\n"));
    }

    [Fact]
    public void A_misspelled_akka_at_the_root_suggests_akka()
    {
        Assert.Equal("akk = {loglevel = INFO} at cluster.hocon:1: unknown key; did you mean 'akka'?", ErrorOf("akk { loglevel = INFO }\n"));
    }

    [Fact]
    public void Valid_akka_keys_leave_the_settings_alone_and_pass_through_alone()
    {
        using var dir = new Support.TempDirectory();
        var file = dir.Write("node.hocon", """
            model.layers = 3
            akka {
              actor.provider = cluster
              remote.dot-netty.tcp { hostname = "10.0.0.5", port = 4053 }
              cluster {
                roles = [worker]
                min-nr-of-members = 3
                singleton.role = coordinator
                split-brain-resolver.stable-after = 10s
              }
            }
            """);

        var settings = ConfigLoader.Load(file, [], Env.Empty);
        var akka = ConfigLoader.LoadAkka(file, [], Env.Empty);

        Assert.Equal(RnnClusterSettings.Default with { Model = ModelSettings.Default with { Layers = 3 } }, settings);
        Assert.Equal(["akka"], akka.Root.GetObject().Items.Keys);
        Assert.Equal("cluster", akka.GetString("akka.actor.provider"));
        Assert.Equal("10.0.0.5", akka.GetString("akka.remote.dot-netty.tcp.hostname"));
        Assert.Equal(4053, akka.GetInt("akka.remote.dot-netty.tcp.port"));
        Assert.Equal(["worker"], akka.GetStringList("akka.cluster.roles"));
        Assert.Equal(3, akka.GetInt("akka.cluster.min-nr-of-members"));
        Assert.Equal("coordinator", akka.GetString("akka.cluster.singleton.role"));
        Assert.Equal(TimeSpan.FromSeconds(10), akka.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        Assert.False(akka.HasPath("akka.remote.dot-netty.tcp.maximum-frame-size")); // nothing the file did not say
    }

    [Fact]
    public void Akka_remote_TLS_keys_are_refused_since_cluster_tls_sets_them()
    {
        var error = ErrorOf("akka.remote.dot-netty.tcp {\n  enable-ssl = off\n  ssl.suppress-validation = on\n}\n");

        Assert.Contains("akka.remote.dot-netty.tcp.enable-ssl = off at cluster.hocon:2: set from cluster.tls", error, StringComparison.Ordinal);
        Assert.Contains("akka.remote.dot-netty.tcp.ssl = {suppress-validation = on} at cluster.hocon:3: set from cluster.tls", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_an_akka_section_there_is_nothing_to_pass_on()
    {
        Assert.True(ConfigLoader.LoadAkka(null, ["model.layers=3"], Env.Empty).IsEmpty);
    }

    [Fact]
    public void The_akka_section_wins_over_what_the_actor_system_takes_from_the_cluster_section()
    {
        var akka = ConfigLoader.LoadAkka(null, ["akka.cluster.failure-detector.acceptable-heartbeat-pause=10s"], Env.Empty);

        var config = RnnCluster.Parallel.Cluster.ClusterSystem.Config(ClusterSettings.Default, RnnCluster.Parallel.Cluster.ClusterSystem.WorkerRole, akka);

        Assert.Equal(TimeSpan.FromSeconds(10), config.GetTimeSpan("akka.cluster.failure-detector.acceptable-heartbeat-pause"));
    }

    /// <summary>Akka's 10 ms tick woke two threads 100 times a second; a node's tick is a twentieth of its heartbeat, 10-50 ms.</summary>
    [Theory]
    [InlineData(1000, 50)]
    [InlineData(5000, 50)]
    [InlineData(600, 30)]
    [InlineData(100, 10)]
    [InlineData(10, 10)]
    public void A_cluster_nodes_scheduler_ticks_at_a_twentieth_of_its_heartbeat_within_10_to_50_ms(int heartbeatMs, int tickMs)
    {
        var settings = ClusterSettings.Default with { HeartbeatInterval = TimeSpan.FromMilliseconds(heartbeatMs) };

        var config = RnnCluster.Parallel.Cluster.ClusterSystem.Config(settings, RnnCluster.Parallel.Cluster.ClusterSystem.WorkerRole);

        Assert.Equal(TimeSpan.FromMilliseconds(tickMs), config.GetTimeSpan("akka.scheduler.tick-duration"));
    }

    [Fact]
    public async Task An_in_process_actor_system_ticks_every_50_ms()
    {
        var system = RnnCluster.Parallel.ParallelSystem.Create("tick", Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        try
        {
            Assert.Equal(TimeSpan.FromMilliseconds(50), system.Settings.Config.GetTimeSpan("akka.scheduler.tick-duration"));
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public void The_akka_section_sets_the_scheduler_tick_over_the_one_derived_from_the_heartbeat()
    {
        var akka = ConfigLoader.LoadAkka(null, ["akka.scheduler.tick-duration=20ms"], Env.Empty);

        var config = RnnCluster.Parallel.Cluster.ClusterSystem.Config(ClusterSettings.Default, RnnCluster.Parallel.Cluster.ClusterSystem.WorkerRole, akka);

        Assert.Equal(TimeSpan.FromMilliseconds(20), config.GetTimeSpan("akka.scheduler.tick-duration"));
    }

    /// <summary>Shutdown noise is off; what could be a real failure (dead letters while running, association errors) is still logged.</summary>
    [Fact]
    public void A_cluster_node_quiets_shutdown_noise_but_not_what_may_be_a_failure()
    {
        var config = RnnCluster.Parallel.Cluster.ClusterSystem.Config(ClusterSettings.Default, RnnCluster.Parallel.Cluster.ClusterSystem.WorkerRole);

        Assert.False(config.GetBoolean("akka.log-dead-letters-during-shutdown"));
        Assert.False(config.GetBoolean("akka.cluster.singleton-proxy.log-singleton-identification-failure"));
        // Left to Akka's defaults (on): a dead letter while running, or an association that fails, may be a real fault.
        Assert.False(config.HasPath("akka.log-dead-letters"));
        Assert.False(config.HasPath("akka.remote.log-remote-lifecycle-events"));
    }

    [Fact]
    public void Maps_whose_keys_the_user_names_are_accepted_and_passed_through()
    {
        var text = """
            akka.actor {
              serializers { rnn = "RnnCluster.Remote.RnnSerializer, RnnCluster.Shared" }
              serialization-bindings { "RnnCluster.Remote.IRnnWireMessage, RnnCluster.Shared" = rnn }
              serialization-identifiers { "RnnCluster.Remote.RnnSerializer, RnnCluster.Shared" = 1001 }
              deployment { "/user/workers" { router = round-robin-pool, nr-of-instances = 4 } }
              compute-dispatcher { type = PinnedDispatcher, throughput = 1 }
            }
            akka.cluster.role.worker.min-nr-of-members = 2
            """;
        using var dir = new Support.TempDirectory();
        var file = dir.Write("maps.hocon", text);

        ConfigLoader.LoadText(text, "maps.hocon", [], Env.Empty);
        var akka = ConfigLoader.LoadAkka(file, [], Env.Empty);

        Assert.Equal("RnnCluster.Remote.RnnSerializer, RnnCluster.Shared", akka.GetString("akka.actor.serializers.rnn"));
        Assert.Equal("rnn", akka.GetString("akka.actor.serialization-bindings.\"RnnCluster.Remote.IRnnWireMessage, RnnCluster.Shared\""));
        Assert.Equal(4, akka.GetInt("akka.actor.deployment.\"/user/workers\".nr-of-instances"));
        Assert.Equal("PinnedDispatcher", akka.GetString("akka.actor.compute-dispatcher.type"));
        Assert.Equal(2, akka.GetInt("akka.cluster.role.worker.min-nr-of-members"));
    }

    [Fact]
    public void Inside_a_user_named_map_nothing_is_checked_but_next_to_it_everything_is()
    {
        Assert.Equal(
            "akka.actor.serializer = {rnn = x} at cluster.hocon:1: unknown key; did you mean 'akka.actor.serializers'?",
            ErrorOf("akka.actor.serializer { rnn = x }\n"));
        Assert.Equal(
            "akka.actor.compute-dispatchr = {type = PinnedDispatcher} at cluster.hocon:1: unknown key; not a setting of Akka, Akka.Remote, Akka.Cluster, Akka.Cluster.Tools, Akka.Discovery or Akka.Management",
            ErrorOf("akka.actor.compute-dispatchr { type = PinnedDispatcher }\n"));
    }

    [Fact]
    public void An_akka_setting_can_be_set_and_overridden_with_set()
    {
        var alone = ConfigLoader.LoadAkka(null, ["akka.cluster.split-brain-resolver.stable-after=5s"], Env.Empty);
        string[] overrides = ["akka.cluster.split-brain-resolver.stable-after=9s"];
        var overFile = ConfigLoader.LoadAkka(ClusterHoconTests.FindClusterHocon(), overrides, Env.Empty);
        var settings = ConfigLoader.Load(ClusterHoconTests.FindClusterHocon(), overrides, Env.Empty);

        Assert.Equal(TimeSpan.FromSeconds(5), alone.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        Assert.Equal(TimeSpan.FromSeconds(9), overFile.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        Assert.Equal("keep-majority", overFile.GetString("akka.cluster.split-brain-resolver.active-strategy"));
        Assert.Equal(RnnClusterSettings.Default, settings);
    }

    [Fact]
    public void A_misspelled_akka_override_names_the_override()
    {
        var error = Assert.Throws<ConfigException>(() =>
            ConfigLoader.LoadAkka(null, ["akka.cluster.split-brain-resolver.stable-aftr=5s"], Env.Empty));

        Assert.Equal(
            "akka.cluster.split-brain-resolver.stable-aftr = 5s at --set akka.cluster.split-brain-resolver.stable-aftr=5s: unknown key; did you mean 'akka.cluster.split-brain-resolver.stable-after'?",
            error.Message);
    }
}
