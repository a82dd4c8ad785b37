using RnnCluster.Config;
using RnnCluster.Data.Tasks;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Torch;

namespace RnnCluster.Training.Tasks;

/// <summary>A task model restored from a checkpoint with the vocabularies and settings it was trained with (for eval and predict).</summary>
public sealed class TrainedTaskModel : IDisposable
{
    private TrainedTaskModel(LoadedCheckpoint checkpoint, RnnClusterSettings settings, TaskVocabularies vocabularies, TorchModel model)
    {
        Checkpoint = checkpoint;
        Settings = settings;
        Vocabularies = vocabularies;
        Model = model;
    }

    public LoadedCheckpoint Checkpoint { get; }

    public RnnClusterSettings Settings { get; }

    public TaskVocabularies Vocabularies { get; }

    public TorchModel Model { get; }

    /// <summary>Whether <paramref name="checkpoint"/> holds a task model (its vocab.json names a task).</summary>
    public static bool IsTask(LoadedCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return TaskVocabularyFile.IsTask(checkpoint.VocabularyJson);
    }

    public static TrainedTaskModel Load(LoadedCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var settings = ConfigLoader.LoadText(checkpoint.ConfigText, Path.Combine(checkpoint.Directory, "config.hocon"), []);
        var vocabularies = TaskVocabularyFile.FromJson(checkpoint.VocabularyJson, Path.Combine(checkpoint.Directory, "vocab.json"));
        CheckpointCompatibility.EnsureCompatible(
            checkpoint.Manifest, TaskTrainingLoop.Architecture(settings, vocabularies.Source.Count), TaskVocabularyFile.Hash(vocabularies), checkpoint.Directory);
        TorchRuntime.SetThreads(TrainingSetup.Threads(settings.Runtime));
        var outputs = vocabularies.Labels?.Count ?? vocabularies.Target!.Count;
        var model = TaskSetup.Create(TaskSetup.Model(settings, vocabularies.Kind, vocabularies.Source.Count, outputs));
        try
        {
            ModelTensors.ImportModel(model, checkpoint.ModelTensors, Path.Combine(checkpoint.Directory, "model.safetensors"));
        }
        catch
        {
            model.Dispose();
            throw;
        }

        return new TrainedTaskModel(checkpoint, settings, vocabularies, model);
    }

    /// <summary>Evaluates the examples of <paramref name="spec"/> (a builtin's or data set's test split, or a file).</summary>
    public EvaluationResult Evaluate(string spec, CancellationToken cancellationToken)
    {
        var split = TaskLoader.LoadForEvaluation(spec, Vocabularies, TaskSetup.Options(Settings.Data, Vocabularies.Kind));
        var batches = new BucketBatcher(split, TaskSetup.Batching(Settings.Data, evaluation: true)).Sequential();
        return TaskEvaluator.Evaluate(Model, batches, Settings.Model.BeamWidth, cancellationToken);
    }

    /// <summary>
    /// The model's output for each text: a label (acceptor), one tag per token (transducer), or the decoded
    /// target tokens (encoder–decoder), tokenised and rendered as the training data was.
    /// </summary>
    public IReadOnlyList<string> Predict(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var source = Vocabularies.Source;
        var tokens = texts.Select(t => TaskVocabulary.Tokenize(t, source.Tokenizer)).ToArray();
        var outputs = new string[texts.Count];
        var rows = Enumerable.Range(0, texts.Count).Where(i => tokens[i].Count > 0).ToArray();
        foreach (var i in Enumerable.Range(0, texts.Count).Except(rows))
        {
            outputs[i] = string.Empty;
        }

        if (rows.Length == 0)
        {
            return outputs;
        }

        var ids = rows.Select(i => (IReadOnlyList<long>)Array.ConvertAll(TaskVocabulary.Encode(tokens[i], source), x => (long)x)).ToArray();
        var batch = PaddedBatch.FromSequences(ids);
        switch (Model)
        {
            case AcceptorModel acceptor:
            {
                var predictions = new long[rows.Length];
                acceptor.Classify(batch, [], train: false, backward: false, predictions);
                for (var r = 0; r < rows.Length; r++)
                {
                    outputs[rows[r]] = Vocabularies.Labels![(int)predictions[r]];
                }

                break;
            }

            case TransducerModel transducer:
            {
                var predictions = new long[(long)batch.Steps * batch.Count];
                transducer.Tag(batch, [], train: false, backward: false, predictions);
                for (var r = 0; r < rows.Length; r++)
                {
                    var tags = Enumerable.Range(0, ids[r].Count).Select(t => Vocabularies.Labels![(int)predictions[(t * batch.Count) + r]]);
                    outputs[rows[r]] = string.Join(' ', tags);
                }

                break;
            }

            case Seq2SeqModel seq2seq:
            {
                var decoded = seq2seq.Decode(batch, TaskEvaluator.DecodeOptions(batch.Steps, Settings.Model.BeamWidth));
                var target = Vocabularies.Target!;
                var separator = target.Tokenizer == Data.TextTokenizer.Char ? string.Empty : " ";
                for (var r = 0; r < rows.Length; r++)
                {
                    outputs[rows[r]] = string.Join(separator, TaskEvaluator.WithoutEnd(decoded.Sequences[r]).Select(id => target[(int)id]));
                }

                break;
            }
        }

        return outputs;
    }

    public void Dispose() => Model.Dispose();
}
