namespace RnnCluster.Data.Tasks;

/// <summary>
/// Examples to ids. <c>Build*</c> takes the vocabularies (tokens, labels, tags) from the training
/// examples only; <c>Encode*</c> encodes any examples with given vocabularies, where an unknown token
/// becomes &lt;unk&gt; but an unknown label or tag is an error naming its <c>file:line</c>.
/// </summary>
public static class TaskEncoder
{
    public static TaskDataset BuildAcceptor(
        IReadOnlyList<LabelledSequence> train, IReadOnlyList<LabelledSequence> valid, IReadOnlyList<LabelledSequence> test,
        SplitNames names, TaskOptions options, string source, long replacedBytes = 0)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        var tokens = train.Select(e => Tokens(e.Text, options.Tokenizer, e.Position, "text")).ToList();
        var vocabulary = TaskVocabulary.Build(tokens, options.MinCount, options.Tokenizer);
        var labels = LabelSet.Build(train.Select(e => e.Label));
        var v = new TaskVocabularies(TaskKind.Acceptor, vocabulary, null, labels);
        return new TaskDataset(
            TaskKind.Acceptor, vocabulary, null, labels,
            EncodeAcceptor(train, names.Train, v), EncodeAcceptor(valid, names.Valid, v), EncodeAcceptor(test, names.Test, v),
            source, replacedBytes);
    }

    public static TaskDataset BuildTransducer(
        IReadOnlyList<TaggedSequence> train, IReadOnlyList<TaggedSequence> valid, IReadOnlyList<TaggedSequence> test,
        SplitNames names, TaskOptions options, string source, long replacedBytes = 0)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        var vocabulary = TaskVocabulary.Build(train.Select(e => e.Tokens), options.MinCount, TextTokenizer.Word);
        var tags = LabelSet.Build(train.SelectMany(e => e.Tags), "tag");
        var v = new TaskVocabularies(TaskKind.Transducer, vocabulary, null, tags);
        return new TaskDataset(
            TaskKind.Transducer, vocabulary, null, tags,
            EncodeTransducer(train, names.Train, v), EncodeTransducer(valid, names.Valid, v), EncodeTransducer(test, names.Test, v),
            source, replacedBytes);
    }

    public static TaskDataset BuildEncoderDecoder(
        IReadOnlyList<SequencePair> train, IReadOnlyList<SequencePair> valid, IReadOnlyList<SequencePair> test,
        SplitNames names, TaskOptions options, string source, long replacedBytes = 0)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        var sources = train.Select(e => Tokens(e.Source, options.Tokenizer, e.Position, "source")).ToList();
        var targets = train.Select(e => Tokens(e.Target, options.TargetTokenizer, e.Position, "target")).ToList();
        var sourceVocabulary = TaskVocabulary.Build(sources, options.MinCount, options.Tokenizer);
        var targetVocabulary = TaskVocabulary.Build(targets, options.MinCount, options.TargetTokenizer);
        var v = new TaskVocabularies(TaskKind.EncoderDecoder, sourceVocabulary, targetVocabulary, null);
        return new TaskDataset(
            TaskKind.EncoderDecoder, sourceVocabulary, targetVocabulary, null,
            EncodeEncoderDecoder(train, names.Train, v), EncodeEncoderDecoder(valid, names.Valid, v), EncodeEncoderDecoder(test, names.Test, v),
            source, replacedBytes);
    }

    public static TaskSplit EncodeAcceptor(IReadOnlyList<LabelledSequence> examples, string name, TaskVocabularies vocabularies)
    {
        ArgumentNullException.ThrowIfNull(examples);
        Require(vocabularies, TaskKind.Acceptor);
        RequireExamples(examples.Count, name);
        var sources = new int[examples.Count][];
        var labels = new int[examples.Count];
        for (var i = 0; i < examples.Count; i++)
        {
            var e = examples[i];
            sources[i] = TaskVocabulary.Encode(Tokens(e.Text, vocabularies.Source.Tokenizer, e.Position, "text"), vocabularies.Source);
            labels[i] = vocabularies.Labels!.IdOf(e.Label, e.Position);
        }

        return new TaskSplit(TaskKind.Acceptor, name, sources, labels, null);
    }

    public static TaskSplit EncodeTransducer(IReadOnlyList<TaggedSequence> examples, string name, TaskVocabularies vocabularies)
    {
        ArgumentNullException.ThrowIfNull(examples);
        Require(vocabularies, TaskKind.Transducer);
        RequireExamples(examples.Count, name);
        var sources = new int[examples.Count][];
        var tags = new int[examples.Count][];
        for (var i = 0; i < examples.Count; i++)
        {
            var e = examples[i];
            sources[i] = TaskVocabulary.Encode(e.Tokens, vocabularies.Source);
            var ids = new int[e.Tags.Count];
            for (var t = 0; t < ids.Length; t++)
            {
                // A sentence starts at e.Position.Line and has one token per line.
                ids[t] = vocabularies.Labels!.IdOf(e.Tags[t], e.Position with { Line = e.Position.Line + t });
            }

            tags[i] = ids;
        }

        return new TaskSplit(TaskKind.Transducer, name, sources, null, tags);
    }

    public static TaskSplit EncodeEncoderDecoder(IReadOnlyList<SequencePair> examples, string name, TaskVocabularies vocabularies)
    {
        ArgumentNullException.ThrowIfNull(examples);
        Require(vocabularies, TaskKind.EncoderDecoder);
        RequireExamples(examples.Count, name);
        var sources = new int[examples.Count][];
        var targets = new int[examples.Count][];
        for (var i = 0; i < examples.Count; i++)
        {
            var e = examples[i];
            sources[i] = TaskVocabulary.Encode(Tokens(e.Source, vocabularies.Source.Tokenizer, e.Position, "source"), vocabularies.Source);
            targets[i] = TaskVocabulary.Encode(Tokens(e.Target, vocabularies.Target!.Tokenizer, e.Position, "target"), vocabularies.Target);
        }

        return new TaskSplit(TaskKind.EncoderDecoder, name, sources, null, targets);
    }

    private static List<string> Tokens(string text, TextTokenizer tokenizer, SourcePosition position, string what)
    {
        var tokens = TaskVocabulary.Tokenize(text, tokenizer);
        return tokens.Count > 0 ? tokens : throw new DataException($"{position}: the {what} has no tokens");
    }

    private static void Require(TaskVocabularies vocabularies, TaskKind kind)
    {
        ArgumentNullException.ThrowIfNull(vocabularies);
        if (vocabularies.Kind != kind)
        {
            throw new DataException($"the model was trained for the {vocabularies.Kind.ToName()} task, not the {kind.ToName()} task");
        }
    }

    private static void RequireExamples(int count, string name)
    {
        if (count == 0)
        {
            throw new DataException($"{name}: empty data set (no examples)");
        }
    }
}

/// <summary>What the three splits are called in messages (file paths, or "builtin:reverse (valid)").</summary>
public sealed record SplitNames(string Train, string Valid, string Test)
{
    public static SplitNames Of(string source) => new($"{source} (train)", $"{source} (valid)", $"{source} (test)");
}
