namespace RnnCluster.Data.Tasks;

/// <summary>The three splits of a data set.</summary>
public enum DataSplit
{
    Train,
    Valid,
    Test,
}
