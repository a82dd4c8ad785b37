using RnnCluster.Config;
using RnnCluster.Data;
using RnnCluster.Data.Fetch;
using RnnCluster.Data.Tasks;
using RnnCluster.Torch;

namespace RnnCluster.Training.Tasks;

/// <summary>Translates resolved settings into the task data layer's options and the task models' options.</summary>
public static class TaskSetup
{
    /// <summary>
    /// What <c>data.path</c> holds: <c>data.task</c> when set, else a builtin task's kind, a fetched data
    /// set's manifest kind, a transducer for <c>.conll</c> files, and a language-model corpus otherwise.
    /// </summary>
    public static TaskKind ResolveKind(DataSettings data)
    {
        ArgumentNullException.ThrowIfNull(data);
        switch (data.Task)
        {
            case DataTaskKind.LanguageModel: return TaskKind.LanguageModel;
            case DataTaskKind.Acceptor: return TaskKind.Acceptor;
            case DataTaskKind.Transducer: return TaskKind.Transducer;
            case DataTaskKind.EncoderDecoder: return TaskKind.EncoderDecoder;
        }

        var spec = data.Path;
        if (spec.StartsWith(BuiltinCorpora.Prefix, StringComparison.Ordinal))
        {
            return BuiltinTasks.IsBuiltinTask(spec) ? BuiltinTasks.KindOf(spec) : TaskKind.LanguageModel;
        }

        var path = DataDirectories.ResolveSpec(spec, DataDirectory(data));
        if (File.Exists(Path.Combine(path, DatasetManifest.FileName)))
        {
            return DatasetManifest.Read(path).Kind;
        }

        var transducer = Directory.Exists(path)
            ? File.Exists(Path.Combine(path, "train" + TaskLoader.Extension(TaskKind.Transducer)))
            : path.EndsWith(TaskLoader.Extension(TaskKind.Transducer), StringComparison.OrdinalIgnoreCase);
        return transducer ? TaskKind.Transducer : TaskKind.LanguageModel;
    }

    public static TaskOptions Options(DataSettings data, TaskKind kind)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new TaskOptions
        {
            Kind = data.Task == DataTaskKind.Auto ? null : kind,
            Tokenizer = data.Tokenizer == TokenizerKind.Char ? TextTokenizer.Char : TextTokenizer.Word,
            TargetTokenizer = data.TargetTokenizer == TokenizerKind.Char ? TextTokenizer.Char : TextTokenizer.Word,
            MinCount = data.MinCount,
            Utf8Policy = data.InvalidUtf8 == InvalidUtf8Policy.Replace ? Utf8Policy.Replace : Utf8Policy.Error,
            ValidFraction = data.ValidFraction,
            TestFraction = data.TestFraction,
            BuiltinSentences = data.Builtin.Sentences,
            BuiltinSeed = data.Builtin.Seed,
            DataDirectory = DataDirectory(data),
        };
    }

    /// <summary>Loads the data set of <c>data.path</c> as a sequence task of <paramref name="kind"/>.</summary>
    public static TaskDataset Load(DataSettings data, TaskKind kind)
    {
        ArgumentNullException.ThrowIfNull(data);
        return TaskLoader.Load(data.Path, Options(data, kind));
    }

    public static BatchingOptions Batching(DataSettings data, bool evaluation)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new BatchingOptions
        {
            BatchSize = evaluation ? data.EvalBatchSize : data.BatchSize,
            PoolBatches = data.BucketPool,
            MaxLength = data.MaxLength,
            MaxLengthPolicy = data.MaxLengthPolicy == LengthPolicy.Drop ? MaxLengthPolicy.Drop : MaxLengthPolicy.Truncate,
        };
    }

    /// <summary>
    /// The model of a task run: <paramref name="vocabularySize"/> source tokens and <paramref name="outputs"/>
    /// classes, tags or target tokens. Everything else comes from <c>model.*</c> and <c>runtime.*</c>, so a
    /// remote worker derives the same model from the settings and these two sizes.
    /// </summary>
    public static TorchModelOptions Model(RnnClusterSettings settings, TaskKind kind, int vocabularySize, int outputs)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (kind == TaskKind.LanguageModel)
        {
            return TrainingSetup.Model(settings, vocabularySize);
        }

        var m = settings.Model;
        var encoder = new EncoderArchitecture(m.Cell, m.Layers, vocabularySize, m.EmbeddingSize, m.HiddenSize, m.Bidirectional);
        var head = new ClassifierHead(m.HeadHiddenSize, m.HeadActivation);
        TorchModelOptions options = kind switch
        {
            TaskKind.Acceptor => new AcceptorOptions(encoder, m.Pooling, outputs) { Head = head },
            TaskKind.Transducer => new TransducerOptions(encoder, outputs) { Head = head },
            _ => new Seq2SeqOptions(encoder, outputs, m.DecoderEmbeddingSize > 0 ? m.DecoderEmbeddingSize : m.EmbeddingSize),
        };
        return options with
        {
            DropoutEmbedding = m.Dropout.Embedding,
            DropoutBetweenLayers = m.Dropout.BetweenLayers,
            DropoutOutput = m.Dropout.Output,
            ForgetBias = m.ForgetBias,
            InitRange = m.InitRange,
            Seed = unchecked((ulong)settings.Runtime.Seed),
            Device = TrainingSetup.Device(settings.Runtime),
            Compute = settings.Runtime.Precision,
        };
    }

    /// <summary>A model of whichever kind <paramref name="options"/> describes.</summary>
    public static TorchModel Create(TorchModelOptions options) => options switch
    {
        ModelOptions lm => new RnnModel(lm),
        AcceptorOptions acceptor => new AcceptorModel(acceptor),
        TransducerOptions transducer => new TransducerModel(transducer),
        Seq2SeqOptions seq2seq => new Seq2SeqModel(seq2seq),
        _ => throw new ArgumentException($"unknown model options {options?.GetType().Name}", nameof(options)),
    };

    /// <summary>What a remote worker node needs to build a replica of <paramref name="master"/>: the settings and the model's sizes.</summary>
    public static (string Task, int VocabularySize, int OutputCount) Replica(TorchModelOptions master)
    {
        var (task, vocabulary, outputs) = master switch
        {
            ModelOptions lm => (string.Empty, lm.Architecture.VocabularySize, 0),
            AcceptorOptions a => (TaskKindNames.Acceptor, a.Encoder.VocabularySize, a.Classes),
            TransducerOptions t => (TaskKindNames.Transducer, t.Encoder.VocabularySize, t.Tags),
            Seq2SeqOptions s => (TaskKindNames.EncoderDecoder, s.Encoder.VocabularySize, s.TargetVocabularySize),
            _ => throw new ArgumentException($"unknown model options {master?.GetType().Name}", nameof(master)),
        };
        return (task, vocabulary, outputs);
    }

    private static string? DataDirectory(DataSettings data) => data.Dir.Length == 0 ? null : data.Dir;
}
