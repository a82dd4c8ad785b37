namespace RnnCluster.Config;

/// <summary>How a cluster run averages its workers' gradients (<c>cluster.gradient-exchange</c>).</summary>
public enum GradientExchange
{
    /// <summary>Through the coordinator: each step sends every worker the parameters and brings its gradient back.</summary>
    Coordinator,

    /// <summary>Among the workers: an all-reduce on their own data-plane connections; each replica steps itself.</summary>
    AllReduce,
}

/// <summary>How gradients travel in the all-reduce (<c>cluster.gradient-compression</c>).</summary>
public enum GradientCompressionSetting
{
    None,

    /// <summary>bfloat16 on the wire, sums in float32.</summary>
    BFloat16,
}
