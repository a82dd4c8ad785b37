using System.Text.Json;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Tests.Cli;
using RnnCluster.Tests.Cluster.Processes;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Checkpoints;

/// <summary>
/// A trainer process SIGKILLed at each phase of a commit (held there by the test-only
/// <c>RNNCLUSTER_CHECKPOINT_HOLD</c>), then started again with <c>--resume</c>: it loads the newest
/// committed checkpoint, removes what the killed writer left, and finishes with the parameters of a run
/// that was never killed.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class CheckpointKillTests
{
    private const int KilledAtStep = 30;

    private static readonly string[] Run =
    [
        "--workers", "0", "--max-steps", "40", .. CliRunner.TinyModel,
        "--set", "checkpoint.every-steps=10", "--set", "checkpoint.keep-last=2",
    ];

    private static readonly Lazy<Task<float[]>> s_unkilled = new(UnkilledAsync);

    [Theory]
    [InlineData("started", 20)]
    [InlineData("mid-tensor", 20)]
    [InlineData("renamed", 20)]
    [InlineData("committed", 30)]
    [InlineData("pruning", 30)]
    public async Task A_trainer_killed_at_a_commit_phase_resumes_from_the_newest_committed_checkpoint_removes_the_leftovers_and_finishes_unchanged(string phase, int resumedAt)
    {
        using var dir = new TempDirectory();
        var run = dir.Combine("run");
        var checkpoints = Path.Combine(run, "checkpoints");
        await using (var killed = NodeProcess.Start("killed", "rnncluster.dll", ["train", "--run-dir", run, .. Run, "--set", "cluster.test-faults=true"], dir.Path, new Dictionary<string, string> { [CheckpointPhaseHold.Variable] = $"{phase}@{KilledAtStep}" }))
        {
            await killed.WaitForLineAsync($"checkpoint phase {phase} reached", LocalCluster.Patience);
            killed.Kill();
            await killed.WaitForExitAsync(LocalCluster.Patience);
        }

        var leftovers = Leftovers(checkpoints);
        AssertKilledAt(phase, checkpoints, leftovers);
        Assert.Equal(resumedAt, CheckpointReader.Load(run).TrainerState.Step);

        await using var resumed = NodeProcess.Start("resumed", "rnncluster.dll", ["train", "--resume", run, .. Run], dir.Path);
        Assert.True(await resumed.WaitForExitAsync(LocalCluster.Patience) == 0, resumed.Report);

        Assert.Contains($"resuming after step {resumedAt}", resumed.Output, StringComparison.Ordinal);
        foreach (var leftover in leftovers)
        {
            Assert.Contains($"Removed unfinished checkpoint {leftover}", resumed.Output, StringComparison.Ordinal);
        }

        Assert.Empty(Leftovers(checkpoints));
        Assert.Equal(Path.Combine(checkpoints, "step-000000040"), CheckpointStore.FindLatest(run));
        foreach (var kept in Directory.GetDirectories(checkpoints))
        {
            CheckpointReader.Verify(kept);
        }

        using var summary = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(run, "summary.json")));
        Assert.Equal(40, summary.RootElement.GetProperty("steps").GetInt64());
        Assert.Equal(await s_unkilled.Value, CheckpointReader.Load(run).ModelTensors.SelectMany(t => t.ToFloats()).ToArray());
    }

    /// <summary>What the kill left on disk is exactly the phase's leftover, and the committed checkpoints are untouched.</summary>
    private static void AssertKilledAt(string phase, string checkpoints, IReadOnlyList<string> leftovers)
    {
        var step20 = Path.Combine(checkpoints, "step-000000020");
        CheckpointReader.Load(step20);
        switch (phase)
        {
            case "started":
                Assert.StartsWith(".tmp-step-000000030-", Path.GetFileName(Assert.Single(leftovers)), StringComparison.Ordinal);
                Assert.Empty(Directory.GetFileSystemEntries(leftovers[0]));
                break;
            case "mid-tensor":
                var partial = new FileInfo(Path.Combine(Assert.Single(leftovers), "model.safetensors"));
                Assert.Equal(["model.safetensors"], Directory.GetFiles(leftovers[0]).Select(Path.GetFileName));
                Assert.InRange(partial.Length, 9, new FileInfo(Path.Combine(step20, "model.safetensors")).Length - 1);
                break;
            case "renamed":
                Assert.Equal(Path.Combine(checkpoints, "step-000000030"), Assert.Single(leftovers));
                Assert.False(File.Exists(Path.Combine(leftovers[0], "COMMITTED")));
                break;
            case "committed":
                Assert.Empty(leftovers);
                // Retention had not run: the oldest is still there.
                CheckpointReader.Load(Path.Combine(checkpoints, "step-000000010"));
                break;
            case "pruning":
                Assert.Equal(Path.Combine(checkpoints, "step-000000010"), Assert.Single(leftovers));
                Assert.False(File.Exists(Path.Combine(leftovers[0], "model.safetensors")));
                break;
        }
    }

    /// <summary>Temporary directories and step directories without a complete marker.</summary>
    private static List<string> Leftovers(string checkpoints) =>
        [.. Directory.GetDirectories(checkpoints)
            .Where(d => Path.GetFileName(d).StartsWith(".tmp-", StringComparison.Ordinal) || !IsCommitted(d))
            .Order(StringComparer.Ordinal)];

    private static bool IsCommitted(string directory)
    {
        var marker = Path.Combine(directory, "COMMITTED");
        return File.Exists(marker) && File.ReadAllText(marker).Trim().Length == 64;
    }

    private static async Task<float[]> UnkilledAsync()
    {
        using var dir = new TempDirectory();
        var r = await CliRunner.RunAsync(["train", "--run-dir", dir.Combine("run"), .. Run]);
        Assert.True(r.ExitCode == 0, r.ToString());
        return CheckpointReader.Load(dir.Combine("run")).ModelTensors.SelectMany(t => t.ToFloats()).ToArray();
    }
}
