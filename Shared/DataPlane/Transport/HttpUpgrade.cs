using System.Security.Cryptography;
using System.Text;

namespace RnnCluster.DataPlane.Transport;

/// <summary>
/// The HTTP/1.1 exchange that turns a TCP (or TLS) stream into a WebSocket (RFC 6455, section 4): the
/// dialer's GET with an <c>Upgrade: websocket</c> request and a random key, the listener's 101 with the
/// key's digest. Only that: no keep-alive, bodies, chunking or redirects, because nothing else is ever
/// asked of the data plane's port. Any standard WebSocket client can still dial it.
/// </summary>
internal static class HttpUpgrade
{
    /// <summary>A request or response head longer than this is refused (real ones are ~200 bytes).</summary>
    public const int MaxHeadBytes = 8 * 1024;

    /// <summary>The RFC's fixed suffix of the accept digest.</summary>
    private const string AcceptSuffix = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    /// <summary>A fresh <c>Sec-WebSocket-Key</c>: 16 random bytes in base64.</summary>
    public static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));

    /// <summary>The <c>Sec-WebSocket-Accept</c> a listener answers <paramref name="key"/> with.</summary>
    public static string AcceptFor(string key) => Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + AcceptSuffix)));

    /// <summary>True for a key the RFC allows: base64 of exactly 16 bytes.</summary>
    public static bool IsValidKey(string? key)
    {
        Span<byte> decoded = stackalloc byte[18];
        return key is { Length: 24 } && Convert.TryFromBase64String(key, decoded, out var written) && written == 16;
    }

    public static byte[] Request(string host, int port, string path, string key) => Encoding.ASCII.GetBytes(
        $"GET {path} HTTP/1.1\r\nHost: {HostHeader(host, port)}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n");

    public static byte[] SwitchingProtocols(string key) => Encoding.ASCII.GetBytes(
        $"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {AcceptFor(key)}\r\n\r\n");

    /// <summary>Writes a refusal with no body (the listener closes the connection after it); a dialler that went away or stalls learns nothing more.</summary>
    public static async Task RefuseAsync(Stream stream, int status, string reason, CancellationToken cancellationToken)
    {
        try
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // Nothing to tell it then.
        }
    }

    /// <summary>
    /// Reads a head up to and including its blank line, a byte at a time, so that nothing after it (the
    /// peer's first WebSocket frame may follow at once) is taken off the stream.
    /// </summary>
    /// <exception cref="EndOfStreamException">The stream ended first.</exception>
    /// <exception cref="InvalidDataException">Longer than <see cref="MaxHeadBytes"/>, or not HTTP.</exception>
    public static async Task<HttpHead> ReadHeadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxHeadBytes];
        var length = 0;
        while (length < 4 || buffer[length - 4] != '\r' || buffer[length - 3] != '\n' || buffer[length - 2] != '\r' || buffer[length - 1] != '\n')
        {
            if (length == MaxHeadBytes)
            {
                throw new InvalidDataException($"an HTTP head longer than {MaxHeadBytes} bytes");
            }

            if (await stream.ReadAsync(buffer.AsMemory(length, 1), cancellationToken).ConfigureAwait(false) == 0)
            {
                throw new EndOfStreamException(length == 0 ? "the connection closed before any HTTP" : "the connection closed inside the HTTP head");
            }

            length++;
        }

        return HttpHead.Parse(Encoding.Latin1.GetString(buffer, 0, length - 4));
    }

    /// <summary>A request head: like <see cref="ReadHeadAsync"/>, and its first line must be an HTTP/1.x request line.</summary>
    /// <exception cref="InvalidDataException">Not an HTTP request, or too long.</exception>
    public static async Task<HttpHead> ReadRequestAsync(Stream stream, CancellationToken cancellationToken)
    {
        var head = await ReadHeadAsync(stream, cancellationToken).ConfigureAwait(false);
        return head.StartLine.Split(' ') is [{ Length: > 0 }, { Length: > 0 }, var version] && version.StartsWith("HTTP/1.", StringComparison.Ordinal)
            ? head
            : throw new InvalidDataException($"'{Printable(head.StartLine)}' is not an HTTP request line");
    }

    /// <summary>At most 60 characters of <paramref name="text"/>, control characters as '?', for a log line.</summary>
    private static string Printable(string text) =>
        new([.. text.Take(60).Select(c => char.IsControl(c) || c > '~' ? '?' : c)]);

    private static string HostHeader(string host, int port) => host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]:{port}" : $"{host}:{port}";
}

/// <summary>A parsed HTTP head: the start line and the header fields (names case-insensitive; repeats joined with commas).</summary>
internal sealed class HttpHead
{
    private readonly Dictionary<string, string> _fields;

    private HttpHead(string startLine, Dictionary<string, string> fields)
    {
        StartLine = startLine;
        _fields = fields;
    }

    public string StartLine { get; }

    public string? this[string name] => _fields.GetValueOrDefault(name);

    /// <summary>Whether the comma-separated field <paramref name="name"/> lists <paramref name="token"/> (case-insensitive).</summary>
    public bool Lists(string name, string token) =>
        this[name] is { } value && value.Split(',').Any(t => string.Equals(t.Trim(), token, StringComparison.OrdinalIgnoreCase));

    /// <exception cref="InvalidDataException">A field line without a colon, or no start line.</exception>
    public static HttpHead Parse(string text)
    {
        var lines = text.Split("\r\n");
        if (lines[0].Length == 0)
        {
            throw new InvalidDataException("an HTTP head without a start line");
        }

        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new InvalidDataException("an HTTP header line without a name");
            }

            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            fields[name] = fields.TryGetValue(name, out var earlier) ? $"{earlier}, {value}" : value;
        }

        return new HttpHead(lines[0], fields);
    }
}
