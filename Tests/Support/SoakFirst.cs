using Xunit;
using Xunit.Abstractions;

[assembly: TestCollectionOrderer("RnnCluster.Tests.Support.SoakFirst", "RnnCluster.Tests")]

namespace RnnCluster.Tests.Support;

/// <summary>
/// Starts the soak's collection before every other: it runs six minutes, mostly waiting on its cluster, and the
/// rest of the parallel collections fit beside it; started last, it would run on alone after them. The others
/// follow by display name, the same order in every run.
/// </summary>
public sealed class SoakFirst : ITestCollectionOrderer
{
    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        testCollections
            .OrderBy(c => c.DisplayName == Cluster.Processes.SoakCollection.Name ? 0 : 1)
            .ThenBy(c => c.DisplayName, StringComparer.Ordinal);
}
