using System.Text.Json;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Tests.Cli;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Checkpoints;

/// <summary>
/// Checkpoints on a real full disk (a tmpfs too small for a second checkpoint: ENOSPC mid-write) and a
/// real read-only directory (EROFS): the failed commit is reported when it happens, the previous
/// checkpoint stays intact and loadable, and <c>checkpoint.on-failure</c> decides the run's end.
/// </summary>
public sealed class CheckpointDiskTests
{
    private static readonly string[] Run =
    [
        "--workers", "0", .. CliRunner.TinyModel, "--set", "checkpoint.every-steps=5",
    ];

    [MountFact]
    public async Task On_a_full_disk_the_failed_commit_is_reported_the_previous_checkpoint_stays_loadable_and_stop_exits_non_zero()
    {
        using var dir = new TempDirectory();
        var checkpoints = dir.Combine("run", "checkpoints");
        using var full = ScratchMount.Tmpfs(checkpoints, await RoomForOneAndAHalfAsync(dir));

        var r = await CliRunner.RunAsync(["train", "--run-dir", dir.Combine("run"), "--max-steps", "30", .. Run]);

        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains($"error: checkpoint of step 10 could not be written to {checkpoints}: could not write checkpoint {Path.Combine(checkpoints, "step-000000010")}: No space left on device", r.Error, StringComparison.Ordinal);
        Assert.Contains($"(checkpoint.on-failure = stop); the last good checkpoint is {Path.Combine(checkpoints, "step-000000005")}", r.Error, StringComparison.Ordinal);
        var failed = Assert.Single(Events(dir.Combine("run"), "checkpoint-failed"));
        Assert.Equal(10, failed.GetProperty("step").GetInt64());
        Assert.Contains("No space left on device", failed.GetProperty("error").GetString(), StringComparison.Ordinal);
        // The partial directory went with the failure; what is left is the previous checkpoint, whole.
        Assert.Equal(["step-000000005"], Directory.GetFileSystemEntries(checkpoints).Select(Path.GetFileName));
        Assert.Equal(5, CheckpointReader.Load(dir.Combine("run")).TrainerState.Step);
        Assert.True(Events(dir.Combine("run"), "train").Max(e => e.GetProperty("step").GetInt64()) <= 15, "the run trained past the next checkpoint");
    }

    [MountFact]
    public async Task On_a_full_disk_continue_trains_to_the_end_and_the_failed_end_of_run_checkpoint_exits_non_zero()
    {
        using var dir = new TempDirectory();
        var checkpoints = dir.Combine("run", "checkpoints");
        using var full = ScratchMount.Tmpfs(checkpoints, await RoomForOneAndAHalfAsync(dir));

        var r = await CliRunner.RunAsync(["train", "--run-dir", dir.Combine("run"), "--max-steps", "20", .. Run, "--set", "checkpoint.on-failure=continue"]);

        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains($"error: the end-of-run checkpoint of step 20 could not be written to {checkpoints}", r.Error, StringComparison.Ordinal);
        Assert.Contains($"the last good checkpoint is {Path.Combine(checkpoints, "step-000000005")}", r.Error, StringComparison.Ordinal);
        Assert.Equal([10, 15, 20], Events(dir.Combine("run"), "checkpoint-failed").Select(e => e.GetProperty("step").GetInt64()));
        Assert.Equal(20, Events(dir.Combine("run"), "train").Max(e => e.GetProperty("step").GetInt64()));
        Assert.Equal(5, CheckpointReader.Load(dir.Combine("run")).TrainerState.Step);
    }

    [MountFact]
    public async Task A_read_only_checkpoint_directory_stops_the_resumed_run_and_the_checkpoint_it_resumed_from_stays_loadable()
    {
        using var dir = new TempDirectory();
        var run = dir.Combine("run");
        var first = await CliRunner.RunAsync(["train", "--run-dir", run, "--max-steps", "10", .. Run]);
        Assert.True(first.ExitCode == 0, first.ToString());
        using var readOnly = ScratchMount.ReadOnly(Path.Combine(run, "checkpoints"));

        var r = await CliRunner.RunAsync(["train", "--resume", run, "--max-steps", "20", .. Run]);

        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains($"error: checkpoint of step 15 could not be written to {Path.Combine(run, "checkpoints")}", r.Error, StringComparison.Ordinal);
        Assert.Contains("Read-only file system", r.Error, StringComparison.Ordinal);
        Assert.Contains($"the last good checkpoint is {Path.Combine(run, "checkpoints", "step-000000010")}", r.Error, StringComparison.Ordinal);
        Assert.Equal(10, CheckpointReader.Load(run).TrainerState.Step);
    }

    [MountFact]
    public async Task A_checkpoint_larger_than_the_free_space_is_announced_before_the_write_fails()
    {
        using var dir = new TempDirectory();
        var checkpoints = dir.Combine("run", "checkpoints");
        using var small = ScratchMount.Tmpfs(checkpoints, 64 * 1024);

        // 128 x 128 LSTM: over half a megabyte of parameters for a 64 KiB file system.
        var r = await CliRunner.RunAsync(["train", "--run-dir", dir.Combine("run"), "--max-steps", "3", .. Run, "--set", "model.hidden-size=128", "--set", "model.embedding-size=128"]);

        Assert.True(r.ExitCode == 1, r.ToString());
        var lines = r.Error.Split('\n');
        var warning = Array.FindIndex(lines, l => l.Contains("Checkpoint of step 3 needs about", StringComparison.Ordinal));
        var error = Array.FindIndex(lines, l => l.StartsWith($"error: checkpoint of step 3 could not be written to {checkpoints}", StringComparison.Ordinal));
        Assert.True(warning >= 0 && error > warning, r.ToString());
        Assert.Contains($"are free in {checkpoints}", lines[warning], StringComparison.Ordinal);
        Assert.Contains("No space left on device", lines[error], StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(checkpoints));
    }

    /// <summary>Bytes a tmpfs needs for one checkpoint of this run and half of another (files take whole pages there).</summary>
    private static async Task<long> RoomForOneAndAHalfAsync(TempDirectory dir)
    {
        var probe = dir.Combine("probe");
        var r = await CliRunner.RunAsync(["train", "--run-dir", probe, "--max-steps", "5", .. Run]);
        Assert.True(r.ExitCode == 0, r.ToString());
        const long Page = 4096;
        var one = Directory.GetFiles(CheckpointStore.FindLatest(probe)!).Sum(f => (new FileInfo(f).Length + Page - 1) / Page * Page);
        return (one + (one / 2)) / Page * Page;
    }

    private static List<JsonElement> Events(string run, string kind) =>
        [.. File.ReadLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).Where(e => e.GetProperty("kind").GetString() == kind)];
}
