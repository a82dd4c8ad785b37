using RnnCluster.Config;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Config;

/// <summary>Built-in data brings its recommended settings; anything the user sets wins.</summary>
public sealed class BuiltinPresetTests
{
    [Fact]
    public void A_builtin_task_gets_its_preset_for_every_key_the_user_left_unset()
    {
        var (settings, preset) = ConfigLoader.LoadWithPreset(null, ["data.path=\"builtin:parity\""]);

        Assert.NotNull(preset);
        Assert.Empty(preset.Overridden);
        Assert.Equal(32, settings.Model.HiddenSize);
        Assert.Equal(OptimizerKind.Adam, settings.Training.Optimizer);
        Assert.Equal(0.01, settings.Training.LearningRate);
        Assert.Equal(3, settings.Training.Epochs);
        Assert.Contains("training.learning-rate=0.01", preset.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void An_explicit_setting_overrides_the_preset_and_the_banner_says_so()
    {
        var (settings, preset) = ConfigLoader.LoadWithPreset(null, ["data.path=\"builtin:parity\"", "training.learning-rate=0.05", "model.hidden-size=16"]);

        Assert.Equal(0.05, settings.Training.LearningRate);
        Assert.Equal(16, settings.Model.HiddenSize);
        Assert.Equal(OptimizerKind.Adam, settings.Training.Optimizer);
        Assert.Equal(["model.hidden-size", "training.learning-rate"], preset!.Overridden.Order(StringComparer.Ordinal));
        Assert.Contains("your settings override model.hidden-size, training.learning-rate", preset.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_config_file_key_overrides_the_preset_too()
    {
        using var dir = new TempDirectory();
        var file = dir.Combine("run.hocon");
        File.WriteAllText(file, "data { path = \"builtin:tagging\" }\ntraining { epochs = 7 }\n");

        var (settings, preset) = ConfigLoader.LoadWithPreset(file, []);

        Assert.Equal(7, settings.Training.Epochs);
        Assert.Equal(32, settings.Model.HiddenSize);
        Assert.Equal(["training.epochs"], preset!.Overridden);
    }

    [Fact]
    public void A_config_file_that_spells_out_the_defaults_leaves_the_preset_working()
    {
        var shipped = Path.Combine(RepositoryRoot.Path, "cluster.hocon");

        var (settings, preset) = ConfigLoader.LoadWithPreset(shipped, ["data.path=\"builtin:parity\""]);

        Assert.Empty(preset!.Overridden);
        Assert.Equal(0.01, settings.Training.LearningRate);
        Assert.Equal(OptimizerKind.Adam, settings.Training.Optimizer);
    }

    [Fact]
    public void Plain_loading_never_applies_a_preset()
    {
        var settings = ConfigLoader.Load(null, ["data.path=\"builtin:parity\""]);

        Assert.Equal(RnnClusterSettings.Default.Training, settings.Training);
        Assert.Equal(RnnClusterSettings.Default.Model, settings.Model);
    }

    [Fact]
    public void Other_data_gets_no_preset_and_the_defaults()
    {
        var (settings, preset) = ConfigLoader.LoadWithPreset(null, ["data.path=\"corpus.txt\""]);

        Assert.Null(preset);
        Assert.Equal(RnnClusterSettings.Default.Model, settings.Model);
        Assert.Equal(RnnClusterSettings.Default.Training, settings.Training);
    }

    [Fact]
    public void Every_preset_names_each_key_once()
    {
        Assert.All(BuiltinPreset.All, p => Assert.Equal(p.Settings.Count, p.Settings.Select(s => s.Key).Distinct().Count()));
    }

    [Fact]
    public void Every_preset_names_only_keys_the_settings_accept()
    {
        foreach (var preset in BuiltinPreset.All)
        {
            var overrides = preset.Settings.Select(s => $"{s.Key}={s.Value}").Prepend($"data.path=\"{preset.Data}\"").ToArray();
            var settings = ConfigLoader.Load(null, overrides);
            Assert.Equal(preset.Data, settings.Data.Path);
        }
    }
}
