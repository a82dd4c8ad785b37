namespace RnnCluster.Data.Tasks;

/// <summary>
/// A loaded sequence task: vocabularies built from the training split only, and three encoded splits.
/// <see cref="Labels"/> holds the acceptor's labels or the transducer's tags; an encoder–decoder has a
/// <see cref="TargetVocabulary"/> instead.
/// </summary>
public sealed class TaskDataset
{
    public TaskDataset(
        TaskKind kind,
        Vocabulary sourceVocabulary,
        Vocabulary? targetVocabulary,
        LabelSet? labels,
        TaskSplit train,
        TaskSplit valid,
        TaskSplit test,
        string source,
        long replacedBytes = 0)
    {
        ArgumentNullException.ThrowIfNull(sourceVocabulary);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(valid);
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(source);
        if ((kind == TaskKind.EncoderDecoder) != (targetVocabulary is not null) || (kind == TaskKind.EncoderDecoder) == (labels is not null))
        {
            throw new ArgumentException($"The {kind.ToName()} task has {(kind == TaskKind.EncoderDecoder ? "a target vocabulary and no labels" : "labels and no target vocabulary")}.");
        }

        if (train.Kind != kind || valid.Kind != kind || test.Kind != kind)
        {
            throw new ArgumentException($"Every split of the {kind.ToName()} task must be of that kind.");
        }

        Kind = kind;
        SourceVocabulary = sourceVocabulary;
        TargetVocabulary = targetVocabulary;
        Labels = labels;
        Train = train;
        Valid = valid;
        Test = test;
        Source = source;
        ReplacedBytes = replacedBytes;
    }

    public TaskKind Kind { get; }

    public Vocabulary SourceVocabulary { get; }

    public Vocabulary? TargetVocabulary { get; }

    public LabelSet? Labels { get; }

    public TaskSplit Train { get; }

    public TaskSplit Valid { get; }

    public TaskSplit Test { get; }

    /// <summary>A builtin name, a fetched data set's directory, or the files' directory.</summary>
    public string Source { get; }

    /// <summary>Bytes replaced by U+FFFD under <see cref="Utf8Policy.Replace"/>, over all files read.</summary>
    public long ReplacedBytes { get; }

    /// <summary>The output classes of the model: labels, tags or target tokens.</summary>
    public int OutputCount => Labels?.Count ?? TargetVocabulary!.Count;
}
