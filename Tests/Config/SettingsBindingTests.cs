using RnnCluster.Config;
using RnnCluster.Model;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Config;

public sealed class SettingsBindingTests
{
    private static RnnClusterSettings Load(string text) =>
        ConfigLoader.LoadText(text, "cluster.hocon", [], Env.Empty);

    private static string ErrorOf(string text) =>
        Assert.Throws<ConfigException>(() => Load(text)).Message;

    [Fact]
    public void No_file_and_no_overrides_gives_the_built_in_defaults()
    {
        var settings = ConfigLoader.Load(null, [], Env.Empty);

        Assert.Equal(RnnClusterSettings.Default, settings);
        Assert.Equal(1234L, settings.Runtime.Seed);
        Assert.Equal(CellKind.Lstm, settings.Model.Cell);
        Assert.Equal(20.0, settings.Training.LearningRate);
        Assert.Equal(ScheduleKind.Plateau, settings.Training.Schedule);
        Assert.Equal(1e-8, settings.Training.AdamEpsilon);
        Assert.Equal("builtin:agreement", settings.Data.Path);
        Assert.True(settings.Checkpoint.KeepBest);
    }

    [Fact]
    public void Keys_that_are_written_replace_their_defaults_and_the_rest_stay()
    {
        var settings = Load("model { cell = rnn_relu, dropout.between-layers = 0.5 }\ndata.tokenizer = char\ntraining.optimizer = adamw\n");

        Assert.Equal(RnnClusterSettings.Default with
        {
            Model = ModelSettings.Default with
            {
                Cell = CellKind.RnnRelu,
                Dropout = DropoutSettings.Default with { BetweenLayers = 0.5 },
            },
            Data = DataSettings.Default with { Tokenizer = TokenizerKind.Char },
            Training = TrainingSettings.Default with { Optimizer = OptimizerKind.AdamW },
        }, settings);
    }

    [Fact]
    public void A_null_value_restores_the_default()
    {
        var settings = Load("model.layers = 4\nmodel.layers = null\n");

        Assert.Equal(2, settings.Model.Layers);
    }

    [Fact]
    public void An_unknown_key_suggests_the_known_key_within_two_edits()
    {
        Assert.Equal(
            "model.hiden-size = 300 at cluster.hocon:2: unknown key; did you mean 'model.hidden-size'?",
            ErrorOf("model {\n  hiden-size = 300\n}\n"));
    }

    [Fact]
    public void An_unknown_section_suggests_the_known_section()
    {
        Assert.Equal(
            "traning = {epochs = 3} at cluster.hocon:1: unknown key; did you mean 'training'?",
            ErrorOf("traning { epochs = 3 }\n"));
    }

    [Fact]
    public void An_unknown_key_far_from_every_known_key_lists_the_known_keys()
    {
        Assert.Equal(
            "checkpoint.directory = out at cluster.hocon:1: unknown key; known keys here: every-steps, keep-last, keep-best, on-failure",
            ErrorOf("checkpoint.directory = out\n"));
    }

    [Fact]
    public void A_wrong_type_names_the_key_the_value_and_what_was_expected()
    {
        Assert.Equal(
            "model.layers = \"two\" at cluster.hocon:1: expected an integer",
            ErrorOf("model.layers = \"two\"\n"));
    }

    [Fact]
    public void A_wrong_type_in_an_included_file_names_that_file_and_line()
    {
        using var dir = new TempDirectory();
        dir.Write("conf/model.conf", "# the model\nlayers = \"two\"\n");
        var main = dir.Write("conf/run.hocon", "model {\n  include \"model.conf\"\n}\n");

        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load(main, [], Env.Empty));

        Assert.Equal($"model.layers = \"two\" at {Path.Combine(dir.Path, "conf", "model.conf")}:2: expected an integer", error.Message);
    }

    [Fact]
    public void An_object_where_a_value_belongs_is_a_type_error()
    {
        Assert.Equal(
            "runtime.seed = {a = 1} at cluster.hocon:1: expected an integer",
            ErrorOf("runtime.seed { a = 1 }\n"));
    }

    [Fact]
    public void A_value_where_a_section_belongs_is_a_type_error()
    {
        Assert.Equal("model = 5 at cluster.hocon:1: expected an object", ErrorOf("model = 5\n"));
    }

    [Fact]
    public void A_negative_learning_rate_is_out_of_range()
    {
        var text = string.Concat(Enumerable.Repeat("\n", 41)) + "training.learning-rate = -1\n";

        Assert.Equal("training.learning-rate = -1 at cluster.hocon:42: must be greater than 0", ErrorOf(text));
    }

    [Theory]
    [InlineData("model.layers = 0", "model.layers = 0 at cluster.hocon:1: must be at least 1")]
    [InlineData("model.dropout.output = 1", "model.dropout.output = 1 at cluster.hocon:1: must be in [0, 1)")]
    [InlineData("training.plateau-factor = 0", "training.plateau-factor = 0 at cluster.hocon:1: must be in (0, 1]")]
    [InlineData("training.clip-norm = -0.5", "training.clip-norm = -0.5 at cluster.hocon:1: must be at least 0")]
    [InlineData("runtime.threads = 3000000000", "runtime.threads = 3000000000 at cluster.hocon:1: expected an integer between -2147483648 and 2147483647")]
    [InlineData("runtime.device = \"cuda:x\"", "runtime.device = \"cuda:x\" at cluster.hocon:1: expected \"cpu\", \"cuda\" or \"cuda:N\" (N = device index)")]
    [InlineData("model.cell = lstn", "model.cell = lstn at cluster.hocon:1: expected one of 'lstm', 'gru', 'rnn_tanh' or 'rnn_relu'")]
    [InlineData("training.optimizer = rmsprop", "training.optimizer = rmsprop at cluster.hocon:1: expected one of 'sgd', 'adam' or 'adamw'")]
    [InlineData("data.invalid-utf8 = ignore", "data.invalid-utf8 = ignore at cluster.hocon:1: expected one of 'error' or 'replace'")]
    [InlineData("checkpoint.keep-best = maybe", "checkpoint.keep-best = maybe at cluster.hocon:1: expected a boolean (true or false)")]
    [InlineData("training.momentum = NaN", "training.momentum = NaN at cluster.hocon:1: expected a finite number")]
    public void Out_of_range_and_invalid_values_name_key_value_requirement_and_origin(string text, string expected)
    {
        Assert.Equal(expected, ErrorOf(text + "\n"));
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("cuda")]
    [InlineData("cuda:0")]
    [InlineData("cuda:12")]
    public void Valid_devices_are_accepted(string device)
    {
        Assert.Equal(device, Load($"runtime.device = \"{device}\"\n").Runtime.Device);
    }

    [Fact]
    public void Tied_weights_with_different_sizes_name_both_keys_and_values()
    {
        Assert.Equal(
            "model.tie-weights = true at cluster.hocon:3: requires model.embedding-size == model.hidden-size, but "
            + "model.embedding-size = 200 (built-in default) and model.hidden-size = 300 at cluster.hocon:2",
            ErrorOf("model {\n  hidden-size = 300\n  tie-weights = true\n}\n"));
    }

    [Fact]
    public void Tied_weights_with_equal_sizes_are_accepted()
    {
        var settings = Load("model { embedding-size = 300, hidden-size = 300, tie-weights = true }\n");

        Assert.Equal(new ModelArchitecture(CellKind.Lstm, 2, 300, 300, 1000, true), settings.Model.ToArchitecture(1000));
    }

    [Fact]
    public void Valid_and_test_fractions_must_leave_data_for_training()
    {
        Assert.Equal(
            "data.test-fraction = 0.5 at cluster.hocon:2: data.valid-fraction + data.test-fraction must be less than 1, but "
            + "data.valid-fraction = 0.5 at cluster.hocon:1 and data.test-fraction = 0.5 at cluster.hocon:2",
            ErrorOf("data.valid-fraction = 0.5\ndata.test-fraction = 0.5\n"));
    }

    [Fact]
    public void A_new_section_binds_durations_and_sizes_through_config_section()
    {
        // The shape later cluster.* and remote.* sections take.
        var tree = HoconSource.ReadText("remote { heartbeat = 3s, frame = 64KiB }\n", "new.conf", Env.Empty);

        var (heartbeat, frame) = ConfigSection.BindRoot(tree, root => root.Bind("remote", s =>
            (s.GetDuration("heartbeat", TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(100)), s.GetSize("frame", 1 << 20, 1024))));

        Assert.Equal(TimeSpan.FromSeconds(3), heartbeat);
        Assert.Equal(65_536L, frame);
    }

    [Fact]
    public void A_new_section_rejects_a_size_below_its_minimum()
    {
        var tree = HoconSource.ReadText("remote.frame = 512B\n", "new.conf", Env.Empty);

        var error = Assert.Throws<ConfigException>(() =>
            ConfigSection.BindRoot(tree, root => root.Bind("remote", s => s.GetSize("frame", 1 << 20, 1024))));

        Assert.Equal("remote.frame = 512B at new.conf:1: must be at least 1KiB", error.Message);
    }
}
