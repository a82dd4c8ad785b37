using System.Globalization;

namespace RnnCluster.Cluster;

/// <summary>
/// A node's endpoint plus the incarnation of the process behind it. Every start of a node is a new,
/// larger incarnation, so messages from a process the cluster has downed can be told apart from
/// those of its restarted successor on the same host:port.
/// </summary>
public sealed record UniqueAddress
{
    public UniqueAddress(string host, int port, long incarnation)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        ArgumentOutOfRangeException.ThrowIfNegative(incarnation);
        Host = host;
        Port = port;
        Incarnation = incarnation;
    }

    public string Host { get; }

    public int Port { get; }

    public long Incarnation { get; }

    /// <summary>host:port without the incarnation: what two incarnations of one node share.</summary>
    public string Endpoint => string.Create(CultureInfo.InvariantCulture, $"{Host}:{Port}");

    public bool IsSameEndpoint(UniqueAddress other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Port == other.Port && string.Equals(Host, other.Host, StringComparison.OrdinalIgnoreCase);
    }

    public void Deconstruct(out string host, out int port, out long incarnation)
    {
        host = Host;
        port = Port;
        incarnation = Incarnation;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Host}:{Port}#{Incarnation}");
}
