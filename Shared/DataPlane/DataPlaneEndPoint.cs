using System.Globalization;

namespace RnnCluster.DataPlane;

/// <summary>
/// Where a node's tensor transport listens: a host (IP address or DNS name) and a TCP port. It is what a
/// control message carries so a peer can connect, hence the plain <c>host:port</c> text form
/// (<c>[::1]:7000</c> for IPv6) that <see cref="Parse"/> reads back.
/// </summary>
public sealed record DataPlaneEndPoint
{
    public DataPlaneEndPoint(string host, int port)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        Host = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        Port = port;
    }

    public string Host { get; }

    public int Port { get; }

    /// <summary>Reads <c>host:port</c> or <c>[ipv6]:port</c>.</summary>
    /// <exception cref="FormatException">Names the text and what is wrong with it.</exception>
    public static DataPlaneEndPoint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.LastIndexOf(':');
        var host = colon > 0 ? text[..colon] : "";
        if (host.Contains(':', StringComparison.Ordinal) && !(host.StartsWith('[') && host.EndsWith(']')))
        {
            throw new FormatException($"Data-plane endpoint '{text}': an IPv6 address goes in brackets, as in [::1]:7000.");
        }

        if (host.Trim('[', ']').Length == 0
            || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || port is < 1 or > 65535)
        {
            throw new FormatException($"Data-plane endpoint '{text}' is not host:port with a port in [1, 65535].");
        }

        return new DataPlaneEndPoint(host, port);
    }

    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    internal Uri ToWebSocketUri(string path, bool secure) => new UriBuilder(secure ? "wss" : "ws", Host, Port, path).Uri;
}
