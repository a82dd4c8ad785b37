using RnnCluster.Config;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Tensors;

namespace RnnCluster.Parallel.Cluster;

/// <summary>The data plane of a node, from <c>cluster.*</c>: same host as Akka.Remote, its own (any free) port, the cluster's TLS files.</summary>
internal static class DataPlaneOptions
{
    public static TensorTransportOptions For(ClusterSettings settings, NodeIdentity identity) => new()
    {
        Identity = identity,
        Host = settings.Host,
        // Its own port, advertised to workers through Akka: only Akka.Remote needs a known one.
        Port = 0,
        Limits = FrameLimits.Default with { MaxFrameBytes = (int)settings.ChunkSize },
        Tls = NodeSetup.TlsFiles(settings),
    };
}
