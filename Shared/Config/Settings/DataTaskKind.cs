namespace RnnCluster.Config;

/// <summary>
/// <c>data.task</c>: what the data files hold. <c>auto</c> takes it from a builtin or fetched data set,
/// and reads plain text files as a language-model corpus.
/// </summary>
public enum DataTaskKind
{
    Auto = 0,
    LanguageModel = 1,
    Acceptor = 2,
    Transducer = 3,
    EncoderDecoder = 4,
}
