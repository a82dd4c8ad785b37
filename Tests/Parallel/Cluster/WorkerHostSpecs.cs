using Microsoft.Extensions.Logging.Abstractions;
using RnnCluster.Parallel.Cluster;

namespace RnnCluster.Tests.Parallel.Cluster;

/// <summary>How a worker process ends when there is no cluster to work for.</summary>
[Collection(ClusterTrainingCollection.Name)]
public sealed class WorkerHostSpecs
{
    [Fact]
    public async Task Seeds_that_never_answer_end_the_worker_with_exit_3_naming_them()
    {
        // Nothing listens on port 1: no coordinator answers the registrations within the join timeout.
        var settings = ParallelRuns.Settings(1, "cluster.port=0", "cluster.join-timeout=3s");
        settings = settings with { Cluster = settings.Cluster with { Seeds = ["127.0.0.1:1"] } };

        var exit = await WorkerHost.RunAsync(settings, NullLoggerFactory.Instance, TimeProvider.System, null, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(WorkerHost.ExitRestart, exit.Code);
        Assert.True(exit.IsError);
        Assert.Contains("127.0.0.1:1", exit.Message, StringComparison.Ordinal);
        Assert.Contains("cluster.join-timeout", exit.Message, StringComparison.Ordinal);
    }
}
