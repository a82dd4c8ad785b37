using RnnCluster.DataPlane;

namespace RnnCluster.Cluster;

/// <summary>Conversions between the transport's node identity and the membership table's address.</summary>
internal static class NodeAddresses
{
    /// <summary>The path of the cluster daemon on every node.</summary>
    public const string DaemonPath = "/system/cluster";

    public static UniqueAddress ToUnique(NodeIdentity identity) => ToUnique(identity.Address, identity.Incarnation);

    public static UniqueAddress ToUnique(string nodeAddress, ulong incarnation)
    {
        var uri = new Uri(nodeAddress);
        return new UniqueAddress(uri.Host.Trim('[', ']'), uri.Port, (long)Math.Min(incarnation, long.MaxValue));
    }

    public static string NodeAddress(string host, int port) =>
        $"rnn://{ClusterNodeOptions.SystemName}@{(host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host)}:{port}";
}
