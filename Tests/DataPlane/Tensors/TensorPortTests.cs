using System.Net;
using System.Net.Sockets;
using RnnCluster.DataPlane.Tensors;
using static RnnCluster.Tests.DataPlane.Tensors.TensorFixture;

namespace RnnCluster.Tests.DataPlane.Tensors;

/// <summary>A fixed listening port (for firewalls and container port lists) instead of any free one.</summary>
[Collection(TensorFixture.Collection)]
public sealed class TensorPortTests
{
    [Fact]
    public async Task A_port_another_process_holds_stops_the_start_naming_the_port_and_its_setting_and_once_freed_it_is_bound()
    {
        int port;
        using (var holder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            holder.Listen();
            port = ((IPEndPoint)holder.LocalEndPoint!).Port;

            var error = await Assert.ThrowsAsync<TensorListenException>(() => StartAsync("taken", o => o with { Port = port, PortSetting = "cluster.data-plane-port" }));

            Assert.Equal(
                $"The tensor data plane cannot listen on 127.0.0.1:{port} (cluster.data-plane-port = {port}): the port is already in use by another process; free it, or choose another port (0 takes any free one)",
                error.Message);
            Assert.Equal(port, error.EndPoint.Port);
        }

        var (node, _) = await StartAsync("fixed", o => o with { Port = port });
        await using var _n = node;
        Assert.Equal(port, node.LocalEndPoint.Port);
        var (peer, _) = await StartAsync("peer");
        await using var _p = peer;
        var (toFixed, atFixed) = await ConnectAsync(peer, node);
        await AssertTransfersAsync(toFixed, atFixed, step: 1);
    }
}
