using RnnCluster.Config;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Tensors;

namespace RnnCluster.Parallel.Cluster;

/// <summary>The data plane of a node, from <c>cluster.*</c>: same host as Akka.Remote, its own port (<c>cluster.data-plane-port</c>), the cluster's TLS files.</summary>
internal static class DataPlaneOptions
{
    public static TensorTransportOptions For(ClusterSettings settings, NodeIdentity identity) => new()
    {
        Identity = identity,
        Host = settings.Host,
        // Any free port by default: the bound one is advertised through Akka. A fixed one is for firewalls.
        Port = settings.DataPlanePort,
        PortSetting = "cluster.data-plane-port",
        Limits = FrameLimits.Default with { MaxFrameBytes = (int)settings.ChunkSize },
        Tls = NodeSetup.TlsFiles(settings),
        // Offered on every connection; only a peer on this host (same user and namespaces) can open it.
        SharedMemory = settings.SharedMemory ? new SharedMemoryOptions { RingBytes = settings.SharedMemoryRingSize } : null,
    };
}
