using RnnCluster.Config;
using RnnCluster.Model;
using RnnCluster.Tests.Support;
using RnnCluster.Torch;

namespace RnnCluster.Tests.Config;

/// <summary>Settings that checkpoints of the previous release stored (its own writer's output) still load, unchanged.</summary>
public sealed class PreviousReleaseSettingsTests
{
    private static RnnClusterSettings Load(string name)
    {
        var path = Path.Combine(RepositoryRoot.Path, "Tests", "Fixtures", "PreviousRelease", name, "config.hocon");
        return ConfigLoader.LoadText(File.ReadAllText(path), path, [], Env.Empty);
    }

    [Theory]
    [InlineData("lm-lstm-adam", CellKind.Lstm, 2, OptimizerKind.Adam, 0.01)]
    [InlineData("lm-gru-sgd", CellKind.Gru, 2, OptimizerKind.Sgd, 1.0)]
    [InlineData("acceptor", CellKind.Lstm, 1, OptimizerKind.Adam, 0.01)]
    [InlineData("transducer", CellKind.Lstm, 1, OptimizerKind.Adam, 0.01)]
    [InlineData("seq2seq", CellKind.Lstm, 1, OptimizerKind.Adam, 0.01)]
    public void Stored_settings_load_with_the_values_they_were_trained_with(string name, CellKind cell, int layers, OptimizerKind optimizer, double learningRate)
    {
        var settings = Load(name);

        Assert.Equal((cell, layers, 16, 16), (settings.Model.Cell, settings.Model.Layers, settings.Model.EmbeddingSize, settings.Model.HiddenSize));
        Assert.Equal((optimizer, learningRate, 20L), (settings.Training.Optimizer, settings.Training.LearningRate, settings.Training.MaxSteps));
        Assert.Equal((1, 200, 4), (settings.Runtime.Threads, settings.Data.Builtin.Sentences, settings.Data.BatchSize));
        Assert.Equal(settings, ConfigLoader.LoadText(settings.ToHocon(), "again", [], Env.Empty));
    }

    [Fact]
    public void The_sequence_task_fixtures_keep_their_task_settings()
    {
        Assert.Equal((true, Pooling.Attention, 8), (Load("acceptor").Model.Bidirectional, Load("acceptor").Model.Pooling, Load("acceptor").Model.HeadHiddenSize));
        Assert.Equal(HeadActivation.Relu, Load("transducer").Model.HeadActivation);
        Assert.Equal((8, 2), (Load("seq2seq").Model.DecoderEmbeddingSize, Load("seq2seq").Model.BeamWidth));
        Assert.Equal("builtin:reverse", Load("seq2seq").Data.Path);
        Assert.Equal(0.9, Load("lm-gru-sgd").Training.Momentum);
    }
}
