namespace RnnCluster.Data;

/// <summary>
/// Bad input data: a missing or malformed file, an empty corpus, an unknown built-in corpus.
/// The message always names the source (file, line or byte offset) and what is wrong, because it is
/// shown to the user as is.
/// </summary>
public sealed class DataException : Exception
{
    public DataException()
    {
    }

    public DataException(string message)
        : base(message)
    {
    }

    public DataException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
