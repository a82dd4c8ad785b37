namespace RnnCluster.Data.Tasks;

/// <summary>
/// The labels of an acceptor, or the tags of a transducer, and their class ids. Built from the
/// training split in ordinal order, so the same labels give the same ids on every machine. A label
/// met later that training never saw is an error naming where it was found: a model has no output
/// for it, and silently mapping it to some class would make the reported accuracy a lie.
/// </summary>
public sealed class LabelSet
{
    private const int ListedInErrors = 20;

    private readonly string[] _labels;
    private readonly Dictionary<string, int> _ids;

    private LabelSet(string[] labels, string noun)
    {
        _labels = labels;
        _ids = new Dictionary<string, int>(labels.Length, StringComparer.Ordinal);
        for (var i = 0; i < labels.Length; i++)
        {
            _ids.Add(labels[i], i);
        }

        Noun = noun;
        Hash = VocabularyHash.Compute(labels);
    }

    /// <summary>"label" or "tag": what errors call an entry.</summary>
    public string Noun { get; }

    public IReadOnlyList<string> Labels => _labels;

    public int Count => _labels.Length;

    /// <summary><see cref="VocabularyHash.Compute"/> of <see cref="Labels"/>, for checkpoints.</summary>
    public string Hash { get; }

    public string this[int id]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(id);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(id, _labels.Length);
            return _labels[id];
        }
    }

    /// <summary>The distinct <paramref name="labels"/> in ordinal order; <paramref name="noun"/> is "label" or "tag".</summary>
    public static LabelSet Build(IEnumerable<string> labels, string noun = "label")
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentException.ThrowIfNullOrWhiteSpace(noun);
        var distinct = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var label in labels)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(label, nameof(labels));
            distinct.Add(label);
        }

        if (distinct.Count == 0)
        {
            throw new ArgumentException($"A {noun} set needs at least one {noun}.", nameof(labels));
        }

        return new LabelSet([.. distinct], noun);
    }

    public bool TryGetId(string label, out int id)
    {
        ArgumentNullException.ThrowIfNull(label);
        return _ids.TryGetValue(label, out id);
    }

    /// <summary>The id of <paramref name="label"/>; an unknown one is a <see cref="DataException"/> naming <paramref name="position"/>.</summary>
    public int IdOf(string label, SourcePosition position)
    {
        ArgumentNullException.ThrowIfNull(label);
        return _ids.TryGetValue(label, out var id)
            ? id
            : throw new DataException($"{position}: unknown {Noun} '{label}' (the training data has {Count} {Noun}s: {Describe()})");
    }

    /// <summary>The labels as a comma-separated list, shortened after twenty.</summary>
    public string Describe() =>
        _labels.Length <= ListedInErrors
            ? string.Join(", ", _labels)
            : $"{string.Join(", ", _labels.Take(ListedInErrors))}, … and {_labels.Length - ListedInErrors} more";
}
