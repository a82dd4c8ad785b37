namespace RnnCluster.Config;

/// <summary>The optimizer applied on the coordinator's master parameters.</summary>
public enum OptimizerKind
{
    Sgd = 0,
    Adam = 1,
    AdamW = 2,
}
