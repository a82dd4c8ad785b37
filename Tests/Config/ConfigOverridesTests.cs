using RnnCluster.Config;
using RnnCluster.Model;

using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Config;

public sealed class ConfigOverridesTests
{
    [Fact]
    public void Overrides_parse_their_values_as_hocon()
    {
        var settings = ConfigLoader.Load(
            null,
            ["model.cell=gru", "training.learning-rate=0.5", "data.path=\"a b.txt\"", "runtime.device=cuda:1"],
            Env.Empty);

        Assert.Equal(CellKind.Gru, settings.Model.Cell);
        Assert.Equal(0.5, settings.Training.LearningRate);
        Assert.Equal("a b.txt", settings.Data.Path);
        Assert.Equal("cuda:1", settings.Runtime.Device);
    }

    [Fact]
    public void Overrides_apply_after_the_file_and_in_order()
    {
        using var dir = new TempDirectory();
        var file = dir.Write("run.hocon", "model { layers = 3, hidden-size = 400 }\n");

        var settings = ConfigLoader.Load(file, ["model.layers=4", "model.layers=5"], Env.Empty);

        Assert.Equal(5, settings.Model.Layers);
        Assert.Equal(400, settings.Model.HiddenSize);
    }

    [Fact]
    public void An_object_override_merges_into_the_section()
    {
        var settings = ConfigLoader.Load(null, ["model={ layers = 3, dropout.output = 0 }"], Env.Empty);

        Assert.Equal(3, settings.Model.Layers);
        Assert.Equal(0.0, settings.Model.Dropout.Output);
        Assert.Equal(0.2, settings.Model.Dropout.Embedding);
    }

    [Fact]
    public void An_unset_optional_variable_in_an_override_leaves_the_value_alone()
    {
        var settings = ConfigLoader.Load(null, ["runtime.seed=${?RNN_SEED}"], Env.Empty);
        var seeded = ConfigLoader.Load(null, ["runtime.seed=${?RNN_SEED}"], Env.Of(("RNN_SEED", "99")));

        Assert.Equal(1234L, settings.Runtime.Seed);
        Assert.Equal(99L, seeded.Runtime.Seed);
    }

    [Theory]
    [InlineData("model.layers", "--set 'model.layers': expected key=value")]
    [InlineData("=3", "--set '=3': the key is empty; expected key=value")]
    [InlineData("model..layers=3", "--set 'model..layers=3': 'model..layers' is not a valid key path (segments separated by '.')")]
    [InlineData("model.layers=", "--set model.layers=: expected a value, found end of file")]
    [InlineData("data.path=\"open", "--set data.path=\"open: unterminated quoted string")]
    public void A_malformed_override_is_an_error_naming_it(string text, string expected)
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load(null, [text], Env.Empty));

        Assert.Equal(expected, error.Message);
    }

    [Fact]
    public void An_invalid_override_value_names_the_override_as_its_origin()
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load(null, ["training.learning-rate=-1"], Env.Empty));

        Assert.Equal("training.learning-rate = -1 at --set training.learning-rate=-1: must be greater than 0", error.Message);
    }
}
