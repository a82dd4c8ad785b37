namespace RnnCluster.Config;

/// <summary>How a cluster node finds the cluster it joins (<c>cluster.discovery.method</c>).</summary>
public enum DiscoveryMethod
{
    /// <summary>Through the fixed <c>cluster.seeds</c>; a node with none forms the cluster by joining itself.</summary>
    Seeds,

    /// <summary>Akka.Management cluster bootstrap over a fixed list of every node's management endpoint.</summary>
    Config,

    /// <summary>Akka.Management cluster bootstrap over the pods the Kubernetes API lists by label.</summary>
    Kubernetes,
}
