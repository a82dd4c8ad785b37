using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace RnnCluster.Data;

/// <summary>
/// Token strings and their ids. Ids are <see cref="Unknown"/> = 0, <see cref="EndOfSentence"/> = 1,
/// then tokens by descending training count, ties in ordinal order, so the same corpus gives the same
/// ids (and <see cref="Hash"/>) on every machine.
/// </summary>
public sealed class Vocabulary
{
    public const string Unknown = "<unk>";
    public const string EndOfSentence = "<eos>";

    private readonly string[] _tokens;
    private readonly Dictionary<string, int> _ids;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _spanIds;

    private Vocabulary(string[] tokens, Dictionary<string, int> ids, TextTokenizer tokenizer)
    {
        _tokens = tokens;
        _ids = ids;
        _spanIds = ids.GetAlternateLookup<ReadOnlySpan<char>>();
        Tokenizer = tokenizer;
        Hash = VocabularyHash.Compute(tokens);
    }

    public IReadOnlyList<string> Tokens => _tokens;

    public int Count => _tokens.Length;

    public int UnknownId => 0;

    public int EndOfSentenceId => 1;

    /// <summary>The tokenizer the vocabulary was built with; encoding other text must use the same one.</summary>
    public TextTokenizer Tokenizer { get; }

    /// <summary><see cref="VocabularyHash.Compute"/> of <see cref="Tokens"/>.</summary>
    public string Hash { get; }

    public string this[int id]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(id);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(id, _tokens.Length);
            return _tokens[id];
        }
    }

    public int IdOf(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return _ids.TryGetValue(token, out var id) ? id : UnknownId;
    }

    public int IdOf(ReadOnlySpan<char> token) => _spanIds.TryGetValue(token, out var id) ? id : UnknownId;

    public bool TryGetId(string token, out int id)
    {
        ArgumentNullException.ThrowIfNull(token);
        return _ids.TryGetValue(token, out id);
    }

    /// <summary>Counts <paramref name="tokens"/> and keeps those seen at least <paramref name="minCount"/> times.</summary>
    public static Vocabulary Build(IEnumerable<string> tokens, int minCount, TextTokenizer tokenizer = TextTokenizer.Word)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var counter = new TokenCounter();
        foreach (var token in tokens)
        {
            ArgumentNullException.ThrowIfNull(token, nameof(tokens));
            counter.Add(token);
        }

        return Build(counter, minCount, tokenizer);
    }

    internal static Vocabulary Build(TokenCounter counter, int minCount, TextTokenizer tokenizer)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minCount, 1);
        var kept = new List<int>();
        for (var i = 0; i < counter.Types.Count; i++)
        {
            if (counter.Counts[i] >= minCount)
            {
                kept.Add(i);
            }
        }

        kept.Sort((a, b) =>
        {
            var byCount = counter.Counts[b].CompareTo(counter.Counts[a]);
            return byCount != 0 ? byCount : string.CompareOrdinal(counter.Types[a], counter.Types[b]);
        });

        var tokens = new List<string>(kept.Count + 2) { Unknown, EndOfSentence };
        foreach (var i in kept)
        {
            tokens.Add(counter.Types[i]);
        }

        return FromTokens(tokens, tokenizer);
    }

    /// <summary>A vocabulary with exactly these ids; the first two tokens must be the reserved ones.</summary>
    public static Vocabulary FromTokens(IReadOnlyList<string> tokens, TextTokenizer tokenizer = TextTokenizer.Word)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var (vocabulary, error) = TryCreate(tokens, tokenizer);
        return vocabulary ?? throw new ArgumentException(error, nameof(tokens));
    }

    /// <summary>Reads the form <see cref="ToJson"/> writes; <paramref name="sourceName"/> labels errors.</summary>
    public static Vocabulary FromJson(string json, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(sourceName);
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new DataException($"{sourceName}: a vocabulary is a JSON object with \"tokenizer\" and \"tokens\"");
            }

            if (!root.TryGetProperty("tokenizer", out var kindElement) || kindElement.ValueKind != JsonValueKind.String)
            {
                throw new DataException($"{sourceName}: missing string property \"tokenizer\" (\"word\" or \"char\")");
            }

            var kindName = kindElement.GetString();
            var tokenizer = kindName switch
            {
                "word" => TextTokenizer.Word,
                "char" => TextTokenizer.Char,
                _ => throw new DataException($"{sourceName}: unknown tokenizer \"{kindName}\" (known: word, char)"),
            };

            if (!root.TryGetProperty("tokens", out var tokensElement) || tokensElement.ValueKind != JsonValueKind.Array)
            {
                throw new DataException($"{sourceName}: missing array property \"tokens\"");
            }

            var tokens = new List<string>(tokensElement.GetArrayLength());
            foreach (var element in tokensElement.EnumerateArray())
            {
                if (element.ValueKind != JsonValueKind.String)
                {
                    throw new DataException($"{sourceName}: token {tokens.Count} is a {element.ValueKind}, not a string");
                }

                tokens.Add(element.GetString()!);
            }

            var (vocabulary, error) = TryCreate(tokens, tokenizer);
            return vocabulary ?? throw new DataException($"{sourceName}: {error}");
        }
        catch (JsonException e)
        {
            throw new DataException($"{sourceName}: invalid JSON: {e.Message}", e);
        }
    }

    /// <summary>{"tokenizer": "word"|"char", "tokens": [...]} in id order, indented, non-ASCII kept readable.</summary>
    public string ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>();
        // The relaxed encoder keeps a char-level vocabulary of, say, Cyrillic text readable; the file is
        // never embedded in HTML, which is what the default encoder's escaping guards against.
        var options = new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        using (var writer = new Utf8JsonWriter(buffer, options))
        {
            writer.WriteStartObject();
            writer.WriteString("tokenizer", Tokenizer == TextTokenizer.Word ? "word" : "char");
            writer.WriteStartArray("tokens");
            foreach (var token in _tokens)
            {
                writer.WriteStringValue(token);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan) + "\n";
    }

    private static (Vocabulary? Vocabulary, string Error) TryCreate(IReadOnlyList<string> tokens, TextTokenizer tokenizer)
    {
        if (tokens.Count < 2 || tokens[0] != Unknown || tokens[1] != EndOfSentence)
        {
            return (null, $"a vocabulary starts with \"{Unknown}\" and \"{EndOfSentence}\" (ids 0 and 1)");
        }

        var array = new string[tokens.Count];
        var ids = new Dictionary<string, int>(tokens.Count, StringComparer.Ordinal);
        for (var i = 0; i < array.Length; i++)
        {
            var token = tokens[i];
            if (string.IsNullOrEmpty(token))
            {
                return (null, $"token {i} is empty");
            }

            if (!ids.TryAdd(token, i))
            {
                return (null, $"token \"{token}\" appears twice (ids {ids[token]} and {i})");
            }

            array[i] = token;
        }

        return (new Vocabulary(array, ids, tokenizer), string.Empty);
    }
}
