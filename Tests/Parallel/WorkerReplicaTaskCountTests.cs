using Microsoft.Extensions.Logging.Abstractions;
using RnnCluster.Tests.Support;
using RnnCluster.Tests.Training.Tasks;
using RnnCluster.Training;
using RnnCluster.Training.Parallel;
using RnnCluster.Training.Tasks;

namespace RnnCluster.Tests.Parallel;

/// <summary>
/// A task batch's token count goes on the wire before forward, as a window's does. For each task kind the
/// count sent is the one its loss takes (padding targets are -1 and not counted), so every replica averages
/// by the step's true total; the gradient follows after backward, whole.
/// </summary>
public sealed class WorkerReplicaTaskCountTests
{
    private const int GradientSegment = 0;
    private const int CountSegment = 1;

    [Theory]
    [InlineData("builtin:agreement-number")]
    [InlineData("builtin:tagging")]
    [InlineData("builtin:reverse")]
    public async Task A_task_batch_sends_the_count_its_loss_takes_before_forward(string data)
    {
        using var dir = new TempDirectory();
        var settings = TaskRuns.Settings(data, 1, TaskParallelTests.Sgd);
        var dataset = TaskSetup.Load(settings.Data, TaskSetup.ResolveKind(settings.Data));
        using var loop = new TaskTrainingLoop(settings, dataset, dir.Combine("run"), new TrainerServices(TimeProvider.System, NullLoggerFactory.Instance));
        using var replica = FirstWindow.ReplicaFor(loop, settings, TimeProvider.System);
        var batch = await FirstWindow.FirstCommandAsync<ComputeBatch>(loop);

        // Every 7th target ignored (-1, as padding is), so the count differs from the number of targets.
        var targets = batch.Shard.Targets.Select((t, i) => i % 7 == 3 ? -1 : t).ToArray();
        batch = batch with { Shard = batch.Shard with { Targets = targets } };
        var group = new RecordingGroup();

        var (reply, _) = replica.Compute(batch with { Exchange = new ExchangeCommand(0, ["this node"], null, -1, [], 0), Group = group });

        Assert.False(reply.Abandoned);
        Assert.Equal([$"async {CountSegment}", $"sync {GradientSegment}"], group.Calls.Select(c => c.Name));
        var ignored = targets.Count(t => t == -1);
        Assert.True(ignored > 0);
        Assert.Equal([targets.Length - ignored], group.Calls[0].Values);
        Assert.Equal(targets.Length - ignored, reply.Tokens);
    }
}
