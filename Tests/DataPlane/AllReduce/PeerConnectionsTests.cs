using RnnCluster.DataPlane.AllReduce;
using RnnCluster.DataPlane.Tensors;
using RnnCluster.Tests.DataPlane.Tensors;

namespace RnnCluster.Tests.DataPlane.AllReduce;

/// <summary>Inbound connections go to the group of their run and generation; stale and foreign ones are closed, early ones held.</summary>
[Collection(TensorFixture.Collection)]
public sealed class PeerConnectionsTests
{
    [Fact]
    public async Task A_hello_of_an_older_generation_is_closed_and_its_dialler_is_told_why()
    {
        await using var mesh = await Mesh.FormAsync(2, run: "run-s", generation: 5, name: "gen");
        await using var late = await MeshNode.StartAsync("late");
        var members = new[] { mesh.Nodes[0].Member(0), late.Member(1) };

        var error = await Assert.ThrowsAsync<AllReduceAbandonedException>(
            () => late.FormAsync("run-s", 4, 1, members, new AllReduceOptions()).WaitAsync(TensorFixture.WaitLimit));

        Assert.Equal((0, AbandonReason.Refused), (error.PeerRank, error.Reason));
        Assert.Contains("stale generation 4", error.Message, StringComparison.Ordinal);
        await mesh.Nodes[0].Logs.WaitForAsync(MeshNode.InboundClosed, "stale generation 4", TensorFixture.WaitLimit);

        // The formed group is untouched.
        var results = await mesh.AllReduceAsync(AllReduceData.Contributions(2, 10, seed: 1), step: 1);
        AllReduceData.AssertAllEqual(AllReduceData.RankOrderSum(AllReduceData.Contributions(2, 10, seed: 1)), results);
    }

    [Fact]
    public async Task A_hello_of_another_run_is_closed_while_this_nodes_group_is_open()
    {
        await using var mesh = await Mesh.FormAsync(2, run: "run-a", name: "runs");
        await using var stranger = await MeshNode.StartAsync("stranger");
        var connection = await stranger.Transport.ConnectAsync(mesh.Nodes[0].Transport.LocalEndPoint, mesh.Nodes[0].Transport.Identity);
        await using var _ = connection;
        var end = await SendThenEndAsync(connection, new TensorHeader { Kind = TensorKind.AllReduceHello, RunId = "run-b", Generation = 9, WorkerIndex = 1, Values = new Dictionary<string, double> { ["to"] = 0 } }, []);
        Assert.Equal(ConnectionEndReason.Goodbye, end.Reason);
        Assert.Contains("unknown run run-b", end.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_connection_that_opens_with_anything_but_a_hello_is_closed()
    {
        await using var node = await MeshNode.StartAsync("rude-target");
        await using var rude = await MeshNode.StartAsync("rude");
        var connection = await rude.Transport.ConnectAsync(node.Transport.LocalEndPoint, node.Transport.Identity);
        await using var _ = connection;
        var end = await SendThenEndAsync(connection, TensorFixture.Header(1), new float[3]);
        Assert.Contains("must be an all-reduce hello", end.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_hello_that_arrives_before_its_group_forms_here_is_held_and_handed_over()
    {
        await using var low = await MeshNode.StartAsync("low");
        await using var high = await MeshNode.StartAsync("high");
        var members = new[] { low.Member(0), high.Member(1) };
        var options = new AllReduceOptions();

        var dialling = high.FormAsync("run-h", 2, 1, members, options);
        await low.Logs.WaitForAsync(MeshNode.HelloHeld, "generation 2", TensorFixture.WaitLimit);
        Assert.False(dialling.IsCompleted);
        var listening = low.FormAsync("run-h", 2, 0, members, options);
        var groups = await Task.WhenAll(listening, dialling).WaitAsync(TensorFixture.WaitLimit);
        await using var g0 = groups[0];
        await using var g1 = groups[1];

        var gathered = await Task.WhenAll(groups.Select(g => g.AllGatherAsync(new float[] { g.Rank }, 1, 0, CancellationToken.None))).WaitAsync(TensorFixture.WaitLimit);
        Assert.All(gathered, g => Assert.Equal([[0f], [1f]], g));
    }

    [Fact]
    public async Task A_member_that_never_forms_leaves_the_others_forming_to_time_out_naming_it()
    {
        await using var a = await MeshNode.StartAsync("form-a");
        await using var b = await MeshNode.StartAsync("form-b");
        var members = new[] { a.Member(0), b.Member(1) };

        var error = await Assert.ThrowsAsync<AllReduceAbandonedException>(
            () => a.FormAsync("run-t", 1, 0, members, new AllReduceOptions { FormTimeout = TimeSpan.FromMilliseconds(300) }).WaitAsync(TensorFixture.WaitLimit));

        Assert.Equal((1, b.Transport.Identity, AbandonReason.Timeout), (error.PeerRank, error.Peer, error.Reason));
    }

    /// <summary>
    /// Sends, then waits for the node to close the connection. The node may close it while the send is still
    /// finishing (it needs only the header), and then the send itself reports the end.
    /// </summary>
    private static async Task<ConnectionEnd> SendThenEndAsync(TensorConnection connection, TensorHeader header, float[] payload)
    {
        try
        {
            await connection.SendAsync(header, payload);
        }
        catch (TensorConnectionException e)
        {
            return e.End;
        }

        return await TensorFixture.EndedAsync(connection);
    }
}
