using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using RnnCluster.DataPlane.Tensors;
using RnnCluster.Parallel.Cluster;

namespace RnnCluster.Tests.Parallel.Cluster;

/// <summary>How a worker process ends when there is no cluster to work for, or it cannot take its ports.</summary>
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

    [Fact]
    public async Task A_data_plane_port_another_process_holds_stops_the_worker_naming_the_setting_and_the_port()
    {
        using var holder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        holder.Listen();
        var port = ((IPEndPoint)holder.LocalEndPoint!).Port;
        var settings = ParallelRuns.Settings(1, "cluster.port=0", $"cluster.data-plane-port={port}");
        settings = settings with { Cluster = settings.Cluster with { Seeds = ["127.0.0.1:1"] } };

        var error = await Assert.ThrowsAsync<TensorListenException>(
            () => WorkerHost.RunAsync(settings, NullLoggerFactory.Instance, TimeProvider.System, null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60)));

        Assert.Contains($"cannot listen on 127.0.0.1:{port} (cluster.data-plane-port = {port}): the port is already in use", error.Message, StringComparison.Ordinal);
    }
}
