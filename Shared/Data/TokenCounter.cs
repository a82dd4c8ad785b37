namespace RnnCluster.Data;

/// <summary>
/// Counts token types in first-seen order and hands out provisional ids, so a corpus is read once:
/// the training split is kept as provisional ids and remapped after the vocabulary is known.
/// The reserved tokens are never counted; they always get ids 0 and 1.
/// </summary>
internal sealed class TokenCounter
{
    public const int ProvisionalUnknown = -1;

    public const int ProvisionalEndOfSentence = -2;

    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly List<string> _types = [];
    private readonly List<long> _counts = [];

    public IReadOnlyList<string> Types => _types;

    public IReadOnlyList<long> Counts => _counts;

    /// <summary>Counts one occurrence; returns the provisional id (-1 for <see cref="Vocabulary.Unknown"/>, -2 for <see cref="Vocabulary.EndOfSentence"/>).</summary>
    public int Add(ReadOnlySpan<char> token)
    {
        if (token.SequenceEqual(Vocabulary.Unknown))
        {
            return ProvisionalUnknown;
        }

        if (token.SequenceEqual(Vocabulary.EndOfSentence))
        {
            return ProvisionalEndOfSentence;
        }

        var lookup = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.TryGetValue(token, out var id))
        {
            _counts[id]++;
            return id;
        }

        id = _types.Count;
        var type = token.ToString();
        _ids.Add(type, id);
        _types.Add(type);
        _counts.Add(1);
        return id;
    }

    /// <summary>Final id of every provisional id under <paramref name="vocabulary"/>.</summary>
    public int[] MapTo(Vocabulary vocabulary)
    {
        var map = new int[_types.Count];
        for (var i = 0; i < map.Length; i++)
        {
            map[i] = vocabulary.IdOf(_types[i]);
        }

        return map;
    }

    public static int Remap(int provisional, int[] map, Vocabulary vocabulary) => provisional switch
    {
        ProvisionalUnknown => vocabulary.UnknownId,
        ProvisionalEndOfSentence => vocabulary.EndOfSentenceId,
        _ => map[provisional],
    };
}
