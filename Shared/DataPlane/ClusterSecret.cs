using System.Text;

namespace RnnCluster.DataPlane;

/// <summary>
/// The shared key every node of a cluster holds; the handshake proves knowledge of it. Loading fails
/// loudly at startup, naming the file or variable, because a node that silently ran without a secret
/// (or with a guessable one) would accept anyone.
/// </summary>
public sealed class ClusterSecret
{
    /// <summary>128 bits: below that an HMAC key is within reach of brute force.</summary>
    public const int MinimumBytes = 16;

    private const string FilePrefix = "file:";
    private const string EnvironmentPrefix = "env:";

    private readonly byte[] _key;

    private ClusterSecret(byte[] key, string source)
    {
        _key = key;
        Source = source;
    }

    /// <summary>Where the secret came from, for logs (never the secret itself).</summary>
    public string Source { get; }

    public int Length => _key.Length;

    internal ReadOnlySpan<byte> Key => _key;

    /// <summary>
    /// Loads from <c>file:PATH</c> or <c>env:VARIABLE</c> (the form a configuration key holds). The prefix
    /// is required so a typo is an error rather than a guess between the two.
    /// </summary>
    public static ClusterSecret Load(string source, Func<string, string?>? getEnvironmentVariable = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.StartsWith(FilePrefix, StringComparison.Ordinal))
        {
            return LoadFromFile(source[FilePrefix.Length..]);
        }

        if (source.StartsWith(EnvironmentPrefix, StringComparison.Ordinal))
        {
            return LoadFromEnvironment(source[EnvironmentPrefix.Length..], getEnvironmentVariable);
        }

        throw new ClusterSecretException(
            $"Cluster secret source '{source}' must be '{FilePrefix}<path>' or '{EnvironmentPrefix}<variable name>'.");
    }

    /// <summary>
    /// The file's bytes are the key. Trailing CR/LF is dropped so a secret written by <c>echo</c> or an
    /// editor gives every node the same key.
    /// </summary>
    public static ClusterSecret LoadFromFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var source = $"file '{path}'";
        if (path.Length == 0)
        {
            throw new ClusterSecretException("Cluster secret file path is empty.");
        }

        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or System.Security.SecurityException)
        {
            throw new ClusterSecretException($"Cluster secret {source} cannot be read: {e.Message}", e);
        }

        var length = bytes.Length;
        while (length > 0 && bytes[length - 1] is (byte)'\n' or (byte)'\r')
        {
            length--;
        }

        return Create(bytes.AsSpan(0, length), source);
    }

    /// <summary>The variable's value, as UTF-8, is the key.</summary>
    public static ClusterSecret LoadFromEnvironment(string variableName, Func<string, string?>? getEnvironmentVariable = null)
    {
        ArgumentNullException.ThrowIfNull(variableName);
        if (variableName.Length == 0)
        {
            throw new ClusterSecretException("Cluster secret environment variable name is empty.");
        }

        var source = $"environment variable '{variableName}'";
        var value = (getEnvironmentVariable ?? Environment.GetEnvironmentVariable)(variableName)
            ?? throw new ClusterSecretException($"Cluster secret {source} is not set.");
        return Create(Encoding.UTF8.GetBytes(value), source);
    }

    /// <summary>For tests and for callers that obtain the key elsewhere (a vault, a mounted k8s secret).</summary>
    public static ClusterSecret FromBytes(ReadOnlySpan<byte> key, string source)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        return Create(key, source);
    }

    public override string ToString() => $"cluster secret from {Source} ({Length} bytes)";

    private static ClusterSecret Create(ReadOnlySpan<byte> key, string source)
    {
        if (key.Length < MinimumBytes)
        {
            throw new ClusterSecretException(
                $"Cluster secret {source} holds {key.Length} bytes; at least {MinimumBytes} are required "
                + "(for example: head -c 32 /dev/urandom | base64 > cluster.secret).");
        }

        return new ClusterSecret(key.ToArray(), source);
    }
}
