using System.Text.Json;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Cluster.Processes;

/// <summary>
/// The cluster coordinator's checkpoints across processes: killed in the middle of a commit it comes back
/// from the newest committed one and the workers rejoin; with a checkpoint directory it cannot write, the
/// run follows <c>checkpoint.on-failure</c> and ends cleanly, never through a crash and a restart.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class ClusterCheckpointProcessTests
{
    private static readonly TimeSpan Patience = LocalCluster.Patience;

    [Fact]
    public async Task A_coordinator_killed_mid_commit_restarts_from_the_newest_committed_checkpoint_removes_the_partial_one_and_the_workers_rejoin()
    {
        using var dir = new TempDirectory();
        await using var cluster = LocalCluster.WithDelayedWindows(dir, 60, "cluster.min-workers=2", "checkpoint.every-steps=10");
        cluster.CoordinatorEnvironment[CheckpointPhaseHold.Variable] = "renamed@30";
        var (coordinator, workers) = await cluster.StartAsync(2);
        await coordinator.WaitForLineAsync("checkpoint phase renamed reached", Patience);

        coordinator.Kill();
        await coordinator.WaitForExitAsync(Patience);
        var partial = Path.Combine(cluster.RunDirectory, "checkpoints", "step-000000030");
        Assert.True(Directory.Exists(partial) && !File.Exists(Path.Combine(partial, "COMMITTED")), "the kill did not land between the rename and the marker");
        cluster.CoordinatorEnvironment.Remove(CheckpointPhaseHold.Variable);
        var restarted = cluster.StartCoordinator();

        var resumed = await restarted.WaitForLineAsync("resuming from", Patience);
        Assert.EndsWith(Path.Combine("checkpoints", "step-000000020"), resumed, StringComparison.Ordinal);
        await restarted.WaitForLineAsync($"Removed unfinished checkpoint {partial}", Patience);
        await workers[0].WaitForLineAsync("registering again", Patience);
        await LocalCluster.ExpectExitAsync(restarted, 0);
        foreach (var worker in workers)
        {
            await LocalCluster.ExpectExitAsync(worker, 0);
        }

        Assert.Equal(60, CheckpointReader.Load(cluster.RunDirectory).TrainerState.Step);
        foreach (var kept in Directory.GetDirectories(Path.Combine(cluster.RunDirectory, "checkpoints")))
        {
            Assert.StartsWith("step-", Path.GetFileName(kept), StringComparison.Ordinal);
            CheckpointReader.Verify(kept);
        }
    }

    [Fact]
    public async Task A_coordinator_started_again_passes_over_a_corrupt_newest_checkpoint_with_one_warning_and_resumes_from_the_previous_one()
    {
        using var dir = new TempDirectory();
        await using var cluster = new LocalCluster(dir, LocalCluster.TinyRun(30, "cluster.min-workers=2", "checkpoint.every-steps=10"));
        var (coordinator, workers) = await cluster.StartAsync(2);
        await LocalCluster.ExpectExitAsync(coordinator, 0);
        foreach (var worker in workers)
        {
            await LocalCluster.ExpectExitAsync(worker, 0);
        }

        var model = Path.Combine(cluster.RunDirectory, "checkpoints", "step-000000030", "model.safetensors");
        var bytes = await File.ReadAllBytesAsync(model);
        bytes[^3] ^= 0x20;
        await File.WriteAllBytesAsync(model, bytes);

        // The launcher runs the same command line again (here with a longer run): it resumes by itself.
        var restarted = cluster.StartCoordinator("training.max-steps=50");
        await restarted.WaitForLineAsync("coordinator listening at", Patience);
        NodeProcess[] again = [cluster.StartWorker(), cluster.StartWorker()];

        await LocalCluster.ExpectExitAsync(restarted, 0);
        // One warning about the run's checkpoints (a loaded machine may add Akka's association warnings, and a
        // monitor port in use its own).
        var checkpoints = Path.Combine(cluster.RunDirectory, "checkpoints");
        Assert.StartsWith($"warning: {model} is corrupt: SHA-256 mismatch", Assert.Single(restarted.Output.Split('\n'), l => l.StartsWith($"warning: {checkpoints}", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.EndsWith(Path.Combine("checkpoints", "step-000000020"), await restarted.WaitForLineAsync("resuming from", Patience), StringComparison.Ordinal);
        foreach (var worker in again)
        {
            await LocalCluster.ExpectExitAsync(worker, 0);
        }

        Assert.Equal(50, CheckpointReader.Load(cluster.RunDirectory).TrainerState.Step);
    }

    [MountFact]
    public async Task A_coordinator_that_cannot_write_its_checkpoints_ends_the_run_under_stop_and_tells_the_workers_without_a_restart()
    {
        using var dir = new TempDirectory();
        await using var cluster = new LocalCluster(dir, LocalCluster.TinyRun(60, "cluster.min-workers=2", "checkpoint.every-steps=10", "checkpoint.on-failure=stop"));
        var checkpoints = Path.Combine(cluster.RunDirectory, "checkpoints");
        using var readOnly = ScratchMount.ReadOnly(checkpoints);
        var (coordinator, workers) = await cluster.StartAsync(2);

        await LocalCluster.ExpectExitAsync(coordinator, 1);
        Assert.Contains($"error: checkpoint of step 10 could not be written to {checkpoints}: ", coordinator.Output, StringComparison.Ordinal);
        Assert.Contains("Read-only file system", coordinator.Output, StringComparison.Ordinal);
        Assert.Contains("(checkpoint.on-failure = stop); no checkpoint of this run was written", coordinator.Output, StringComparison.Ordinal);
        Assert.Equal(0, coordinator.CountLines("restarts from the newest committed checkpoint"));
        Assert.True(NodeProcess.StepOf(coordinator.Output.Split('\n').Last(l => NodeProcess.StepOf(l) > 0)) <= 20, "the coordinator trained on past the next checkpoint");
        foreach (var worker in workers)
        {
            await LocalCluster.ExpectExitAsync(worker, 0);
            Assert.Contains("the coordinator finished the run (checkpoint of step 10 could not be written", worker.Output, StringComparison.Ordinal);
        }

        Assert.Equal([10], FailedSteps(cluster.RunDirectory));
    }

    [MountFact]
    public async Task A_coordinator_that_cannot_write_its_checkpoints_trains_on_under_continue_and_exits_non_zero_for_the_failed_last_one()
    {
        using var dir = new TempDirectory();
        await using var cluster = new LocalCluster(dir, LocalCluster.TinyRun(40, "cluster.min-workers=2", "checkpoint.every-steps=10", "checkpoint.on-failure=continue"));
        var checkpoints = Path.Combine(cluster.RunDirectory, "checkpoints");
        using var readOnly = ScratchMount.ReadOnly(checkpoints);
        var (coordinator, workers) = await cluster.StartAsync(2);

        await LocalCluster.ExpectExitAsync(coordinator, 1);
        Assert.Equal(40, coordinator.LastStep());
        Assert.Contains($"error: the end-of-run checkpoint of step 40 could not be written to {checkpoints}", coordinator.Output, StringComparison.Ordinal);
        Assert.Equal(0, coordinator.CountLines("restarts from the newest committed checkpoint"));
        foreach (var worker in workers)
        {
            await LocalCluster.ExpectExitAsync(worker, 0);
        }

        // Every checkpoint was tried (the epoch end at 34 too) and each failure recorded when it happened.
        Assert.Equal([10, 20, 30, 34, 40], FailedSteps(cluster.RunDirectory));
    }

    private static long[] FailedSteps(string runDirectory) =>
        [.. File.ReadLines(Path.Combine(runDirectory, "metrics.jsonl"))
            .Select(line => JsonDocument.Parse(line).RootElement)
            .Where(e => e.GetProperty("kind").GetString() == "checkpoint-failed")
            .Select(e => e.GetProperty("step").GetInt64())];
}
