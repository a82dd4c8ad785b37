using RnnCluster.Config;
using RnnCluster.Model;
using RnnCluster.Parallel.Cluster;

namespace RnnCluster.Tests.Config;

public sealed class ClusterHoconTests
{
    [Fact]
    public void The_shipped_cluster_hocon_equals_the_built_in_defaults()
    {
        var settings = ConfigLoader.Load(FindClusterHocon(), [], Env.Empty);

        Assert.Equal(RnnClusterSettings.Default, settings);
    }

    [Fact]
    public void The_shipped_cluster_hocon_documents_every_setting()
    {
        // The akka block is Akka.NET's configuration, not RnnClusterSettings: it is held to the
        // built-in Akka settings below, and everything else to the rendered defaults.
        var shipped = HoconSource.ReadFile(FindClusterHocon(), Env.Empty);
        var rendered = HoconSource.ReadText(RnnClusterSettings.Default.ToHocon(), "defaults", Env.Empty);

        Assert.Equal(LeafPaths(rendered.Root), LeafPaths(shipped.Root).Where(p => !p.StartsWith("akka.", StringComparison.Ordinal)));
    }

    [Fact]
    public void The_shipped_akka_block_states_the_actor_systems_own_defaults()
    {
        // The block documents choices the actor system makes anyway: laid over it, it changes nothing.
        var shipped = ConfigLoader.LoadAkka(FindClusterHocon(), [], Env.Empty);
        var leaves = LeafPaths(HoconSource.ReadFile(FindClusterHocon(), Env.Empty).Root)
            .Where(p => p.StartsWith("akka.", StringComparison.Ordinal))
            .ToArray();
        var without = ClusterSystem.Config(ClusterSettings.Default, ClusterSystem.WorkerRole);
        var with = ClusterSystem.Config(ClusterSettings.Default, ClusterSystem.WorkerRole, shipped);

        Assert.NotEmpty(leaves);
        Assert.All(leaves, leaf => Assert.Equal(without.GetString(leaf), shipped.GetString(leaf)));
        Assert.All(leaves, leaf => Assert.Equal(without.GetString(leaf), with.GetString(leaf)));
    }

    [Fact]
    public void Default_settings_round_trip_through_hocon()
    {
        var text = RnnClusterSettings.Default.ToHocon();

        Assert.Equal(RnnClusterSettings.Default, ConfigLoader.LoadText(text, "checkpoint", [], Env.Empty));
    }

    [Fact]
    public void Settings_with_every_value_changed_round_trip_through_hocon()
    {
        var changed = new RnnClusterSettings
        {
            Runtime = new RuntimeSettings { Seed = -7, Device = "cuda:3", Threads = 4 },
            Model = new ModelSettings
            {
                Cell = CellKind.RnnTanh,
                Layers = 3,
                EmbeddingSize = 64,
                HiddenSize = 64,
                TieWeights = true,
                ForgetBias = 0.5,
                InitRange = 0.05,
                Dropout = new DropoutSettings { Embedding = 0.1, BetweenLayers = 0.3, Output = 0.4 },
            },
            Data = new DataSettings
            {
                Path = "corpora/\"quoted\" \\ path.txt",
                Tokenizer = TokenizerKind.Char,
                MinCount = 3,
                InvalidUtf8 = InvalidUtf8Policy.Replace,
                ValidFraction = 0.05,
                TestFraction = 1.0 / 3.0,
                BatchSize = 64,
                EvalBatchSize = 8,
                Bptt = 70,
                RandomBptt = true,
                Task = DataTaskKind.EncoderDecoder,
                TargetTokenizer = TokenizerKind.Char,
                MaxLength = 0,
                MaxLengthPolicy = LengthPolicy.Drop,
                BucketPool = 1,
                Dir = "/srv/data sets",
                Builtin = new BuiltinCorpusSettings { Sentences = 100, Seed = 9, ParityLength = 8 },
            },
            Training = new TrainingSettings
            {
                Optimizer = OptimizerKind.Adam,
                LearningRate = 0.001,
                Momentum = 0.9,
                WeightDecay = 1e-5,
                AdamBeta1 = 0.8,
                AdamBeta2 = 0.99,
                AdamEpsilon = 1e-6,
                ClipNorm = 0,
                Schedule = ScheduleKind.Cosine,
                PlateauFactor = 0.5,
                WarmupSteps = 100,
                MinLearningRate = 1e-5,
                Epochs = 40,
                MaxSteps = 5_000_000_000,
                Patience = 3,
                EvalEverySteps = 250,
                LogEverySteps = 10,
            },
            Checkpoint = new CheckpointSettings { EverySteps = 0, KeepLast = 1, KeepBest = false },
        };

        var loaded = ConfigLoader.LoadText(changed.ToHocon(), "checkpoint", [], Env.Empty);

        Assert.Equal(changed, loaded);
        Assert.Equal(changed.ToHocon(), loaded.ToHocon());
    }

    [Fact]
    public void To_hocon_writes_sections_with_configuration_names()
    {
        var text = (RnnClusterSettings.Default with
        {
            Training = TrainingSettings.Default with { Optimizer = OptimizerKind.AdamW },
        }).ToHocon();

        Assert.Contains("training {\n  optimizer = adamw\n  learning-rate = 20\n", text, StringComparison.Ordinal);
        Assert.Contains("  adam-epsilon = 1e-08\n", text, StringComparison.Ordinal);
        Assert.Contains("  dropout {\n    embedding = 0.2\n", text, StringComparison.Ordinal);
    }

    /// <summary>Walks up from the test binaries to the repository root.</summary>
    internal static string FindClusterHocon()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "cluster.hocon");
            if (File.Exists(candidate))
            {
                return candidate;
            }

            if (File.Exists(Path.Combine(dir.FullName, "RnnCluster.sln")))
            {
                throw new FileNotFoundException($"RnnCluster.sln found in {dir.FullName} but no cluster.hocon beside it.");
            }
        }

        throw new FileNotFoundException($"No cluster.hocon above {AppContext.BaseDirectory}.");
    }

    private static List<string> LeafPaths(ConfigNode node)
    {
        var paths = new List<string>();
        foreach (var key in node.Keys)
        {
            Assert.True(node.TryGetField(key, out var value));
            if (value.IsObject)
            {
                paths.AddRange(LeafPaths(value));
            }
            else
            {
                paths.Add(value.Path);
            }
        }

        return paths;
    }
}
