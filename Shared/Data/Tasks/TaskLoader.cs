using RnnCluster.Data.Fetch;

namespace RnnCluster.Data.Tasks;

/// <summary>
/// Turns a data spec into a <see cref="TaskDataset"/>. A spec is
/// <list type="bullet">
/// <item>a builtin task: <c>builtin:agreement-number</c>, <c>builtin:tagging</c>, <c>builtin:reverse</c>;</item>
/// <item><c>fetched:NAME</c>, a data set fetched by <c>rnncluster data fetch NAME</c> into the data directory;</item>
/// <item>a fetched data set's directory (it holds <c>manifest.json</c>): verified, kind and tokenizers from the manifest;</item>
/// <item>a directory with <c>train</c>, <c>valid</c> and <c>test</c> files — <c>.tsv</c> for acceptors and
/// encoder–decoders, <c>.conll</c> for transducers — whose kind <see cref="TaskOptions.Kind"/> gives;</item>
/// <item>one such file, split by example hash (<see cref="HashSplit"/>) with the options' fractions.</item>
/// </list>
/// Vocabularies, labels and tags come from the training split only.
/// </summary>
public static class TaskLoader
{
    public static TaskDataset Load(string spec, TaskOptions options)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (spec.StartsWith(BuiltinCorpora.Prefix, StringComparison.Ordinal))
        {
            var kind = BuiltinTasks.KindOf(spec);
            RequireKind(options, kind, spec);
            return BuiltinTasks.Load(spec, options.BuiltinSentences, options.BuiltinSeed);
        }

        var path = DataDirectories.ResolveSpec(spec, options.DataDirectory);
        if (File.Exists(Path.Combine(path, DatasetManifest.FileName)))
        {
            var manifest = DatasetManifest.Verify(path);
            RequireKind(options, manifest.Kind, path);
            var manifestPath = Path.Combine(path, DatasetManifest.FileName);
            var fromManifest = options with
            {
                Kind = manifest.Kind,
                Tokenizer = DatasetManifest.ParseTokenizer(manifest.SourceTokenizer, manifestPath),
                TargetTokenizer = manifest.TargetTokenizer is { } t ? DatasetManifest.ParseTokenizer(t, manifestPath) : options.TargetTokenizer,
            };
            return LoadFiles(
                path,
                [.. Enum.GetValues<DataSplit>().Select(s => Path.Combine(path, manifest.FileOf(s).Path))],
                fromManifest);
        }

        var taskKind = options.Kind ?? throw new DataException(
            $"{spec}: set data.task (acceptor, transducer or encoder-decoder) to say what the files hold; builtin and fetched data sets know their own");
        if (Directory.Exists(path))
        {
            var extension = Extension(taskKind);
            var files = Enum.GetValues<DataSplit>().Select(s => Path.Combine(path, DatasetManifest.SplitName(s) + extension)).ToArray();
            foreach (var file in files)
            {
                if (!File.Exists(file))
                {
                    throw new DataException($"missing file {file} (the {taskKind.ToName()} directory {path} needs train{extension}, valid{extension} and test{extension})");
                }
            }

            return LoadFiles(path, files, options);
        }

        return LoadSingleFile(path, options with { Kind = taskKind });
    }

    /// <summary>
    /// The evaluation examples of <paramref name="spec"/> encoded with a trained model's vocabularies: a
    /// builtin's or data set's test split, or a whole file. An unknown label or tag is an error naming its file:line.
    /// </summary>
    public static TaskSplit LoadForEvaluation(string spec, TaskVocabularies vocabularies, TaskOptions options)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(vocabularies);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (spec.StartsWith(BuiltinCorpora.Prefix, StringComparison.Ordinal))
        {
            var builtin = BuiltinTasks.Load(spec, options.BuiltinSentences, options.BuiltinSeed);
            if (builtin.Kind != vocabularies.Kind
                || builtin.SourceVocabulary.Hash != vocabularies.Source.Hash
                || builtin.Labels?.Hash != vocabularies.Labels?.Hash
                || builtin.TargetVocabulary?.Hash != vocabularies.Target?.Hash)
            {
                throw new DataException($"{spec} does not match the model's {vocabularies.Kind.ToName()} vocabularies");
            }

            return builtin.Test;
        }

        var path = DataDirectories.ResolveSpec(spec, options.DataDirectory);
        if (File.Exists(Path.Combine(path, DatasetManifest.FileName)))
        {
            var manifest = DatasetManifest.Verify(path);
            path = Path.Combine(path, manifest.FileOf(DataSplit.Test).Path);
        }
        else if (Directory.Exists(path))
        {
            path = Path.Combine(path, "test" + Extension(vocabularies.Kind));
        }

        return vocabularies.Kind switch
        {
            TaskKind.Acceptor => TaskEncoder.EncodeAcceptor(TaskFileReader.ReadLabelled(path, options.Utf8Policy).Examples, path, vocabularies),
            TaskKind.Transducer => TaskEncoder.EncodeTransducer(TaskFileReader.ReadTagged(path, options.Utf8Policy).Examples, path, vocabularies),
            _ => TaskEncoder.EncodeEncoderDecoder(TaskFileReader.ReadPairs(path, options.Utf8Policy).Examples, path, vocabularies),
        };
    }

    /// <summary>The file extension of a task kind's split files: <c>.conll</c> for transducers, <c>.tsv</c> otherwise.</summary>
    public static string Extension(TaskKind kind) => kind == TaskKind.Transducer ? ".conll" : ".tsv";

    private static TaskDataset LoadFiles(string source, string[] paths, TaskOptions options)
    {
        var names = new SplitNames(paths[0], paths[1], paths[2]);
        switch (options.Kind)
        {
            case TaskKind.Acceptor:
            {
                var files = paths.Select(p => TaskFileReader.ReadLabelled(p, options.Utf8Policy)).ToArray();
                return TaskEncoder.BuildAcceptor(files[0].Examples, files[1].Examples, files[2].Examples, names, options, source, files.Sum(f => f.ReplacedBytes));
            }

            case TaskKind.Transducer:
            {
                var files = paths.Select(p => TaskFileReader.ReadTagged(p, options.Utf8Policy)).ToArray();
                return TaskEncoder.BuildTransducer(files[0].Examples, files[1].Examples, files[2].Examples, names, options, source, files.Sum(f => f.ReplacedBytes));
            }

            case TaskKind.EncoderDecoder:
            {
                var files = paths.Select(p => TaskFileReader.ReadPairs(p, options.Utf8Policy)).ToArray();
                return TaskEncoder.BuildEncoderDecoder(files[0].Examples, files[1].Examples, files[2].Examples, names, options, source, files.Sum(f => f.ReplacedBytes));
            }

            default:
                throw new DataException($"{source} is a language-model corpus: train on it as one (data.task = auto or language-model)");
        }
    }

    private static TaskDataset LoadSingleFile(string path, TaskOptions options)
    {
        var names = SplitNames.Of(path);
        var (v, t) = (options.ValidFraction, options.TestFraction);
        switch (options.Kind)
        {
            case TaskKind.Acceptor:
            {
                var file = TaskFileReader.ReadLabelled(path, options.Utf8Policy);
                var (train, valid, test) = RequireSplits(HashSplit.Split(file.Examples, e => e.Text, v, t), path, options);
                return TaskEncoder.BuildAcceptor(train, valid, test, names, options, path, file.ReplacedBytes);
            }

            case TaskKind.Transducer:
            {
                var file = TaskFileReader.ReadTagged(path, options.Utf8Policy);
                var (train, valid, test) = RequireSplits(HashSplit.Split(file.Examples, e => string.Join(' ', e.Tokens), v, t), path, options);
                return TaskEncoder.BuildTransducer(train, valid, test, names, options, path, file.ReplacedBytes);
            }

            default:
            {
                var file = TaskFileReader.ReadPairs(path, options.Utf8Policy);
                var (train, valid, test) = RequireSplits(HashSplit.Split(file.Examples, e => e.Source, v, t), path, options);
                return TaskEncoder.BuildEncoderDecoder(train, valid, test, names, options, path, file.ReplacedBytes);
            }
        }
    }

    private static (List<T> Train, List<T> Valid, List<T> Test) RequireSplits<T>((List<T> Train, List<T> Valid, List<T> Test) splits, string path, TaskOptions options)
    {
        if (splits.Train.Count == 0 || splits.Valid.Count == 0 || splits.Test.Count == 0)
        {
            throw new DataException(
                $"{path}: {splits.Train.Count + splits.Valid.Count + splits.Test.Count} examples split by hash into {splits.Train.Count}/{splits.Valid.Count}/{splits.Test.Count} " +
                $"(valid fraction {options.ValidFraction}, test fraction {options.TestFraction}); every split needs at least one: use more examples or a directory with train, valid and test files");
        }

        return splits;
    }

    private static void RequireKind(TaskOptions options, TaskKind kind, string source)
    {
        if (options.Kind is { } wanted && wanted != kind)
        {
            throw new DataException($"{source} holds a data set for the {kind.ToName()} task, but data.task = {wanted.ToName()}");
        }
    }
}
