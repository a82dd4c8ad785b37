namespace RnnCluster.Data.Tasks;

/// <summary>What a sequence data set asks of a model.</summary>
public enum TaskKind
{
    /// <summary>Next-token prediction over plain text (<see cref="CorpusLoader"/> loads these).</summary>
    LanguageModel,

    /// <summary>One label per sequence (<c>label&lt;TAB&gt;text</c> files): spam or ham, singular or plural.</summary>
    Acceptor,

    /// <summary>One tag per token (CoNLL-style <c>token&lt;TAB&gt;tag</c> lines, a blank line between sentences).</summary>
    Transducer,

    /// <summary>A target sequence per source sequence (<c>source&lt;TAB&gt;target</c> files).</summary>
    EncoderDecoder,
}

/// <summary>The spellings of <see cref="TaskKind"/> in settings, manifests and the command line.</summary>
public static class TaskKindNames
{
    public const string LanguageModel = "language-model";
    public const string Acceptor = "acceptor";
    public const string Transducer = "transducer";
    public const string EncoderDecoder = "encoder-decoder";

    public static string ToName(this TaskKind kind) => kind switch
    {
        TaskKind.LanguageModel => LanguageModel,
        TaskKind.Acceptor => Acceptor,
        TaskKind.Transducer => Transducer,
        TaskKind.EncoderDecoder => EncoderDecoder,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown task kind."),
    };

    public static bool TryParse(string? name, out TaskKind kind)
    {
        (var found, kind) = name switch
        {
            LanguageModel => (true, TaskKind.LanguageModel),
            Acceptor => (true, TaskKind.Acceptor),
            Transducer => (true, TaskKind.Transducer),
            EncoderDecoder => (true, TaskKind.EncoderDecoder),
            _ => (false, default),
        };
        return found;
    }
}
