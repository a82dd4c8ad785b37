using RnnCluster.Config;
using RnnCluster.Data;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Torch;

namespace RnnCluster.Training;

/// <summary>A model restored from a checkpoint with the vocabulary and settings it was trained with (for eval, sample, info).</summary>
public sealed class TrainedModel : IDisposable
{
    private TrainedModel(LoadedCheckpoint checkpoint, RnnClusterSettings settings, Vocabulary vocabulary, RnnModel model)
    {
        Checkpoint = checkpoint;
        Settings = settings;
        Vocabulary = vocabulary;
        Model = model;
    }

    public LoadedCheckpoint Checkpoint { get; }

    public RnnClusterSettings Settings { get; }

    public Vocabulary Vocabulary { get; }

    public RnnModel Model { get; }

    /// <summary>Loads a checkpoint directory (or a run directory's newest checkpoint) onto <paramref name="device"/>.</summary>
    public static TrainedModel Load(string path, string? device = null)
    {
        var checkpoint = CheckpointReader.Load(path);
        var configSource = Path.Combine(checkpoint.Directory, "config.hocon");
        var overrides = device is null ? Array.Empty<string>() : [$"runtime.device={device}"];
        var settings = ConfigLoader.LoadText(checkpoint.ConfigText, configSource, overrides);
        var vocabulary = Vocabulary.FromJson(checkpoint.VocabularyJson, Path.Combine(checkpoint.Directory, "vocab.json"));
        CheckpointCompatibility.EnsureCompatible(
            checkpoint.Manifest, settings.Model.ToArchitecture(vocabulary.Count), vocabulary.Hash, checkpoint.Directory);
        TorchRuntime.SetThreads(TrainingSetup.Threads(settings.Runtime));
        var model = new RnnModel(TrainingSetup.Model(settings, vocabulary.Count));
        try
        {
            ModelTensors.ImportModel(model, checkpoint.ModelTensors, Path.Combine(checkpoint.Directory, "model.safetensors"));
        }
        catch
        {
            model.Dispose();
            throw;
        }

        return new TrainedModel(checkpoint, settings, vocabulary, model);
    }

    public void Dispose() => Model.Dispose();
}
