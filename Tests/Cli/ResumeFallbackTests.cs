using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Cli;

/// <summary><c>train --resume RUN_DIR</c> when the newest checkpoint is damaged: one warning naming the file, the previous one resumed.</summary>
public sealed class ResumeFallbackTests
{
    private static readonly string[] Run = ["--workers", "0", .. CliRunner.TinyModel, "--set", "checkpoint.every-steps=10"];

    [Fact]
    public async Task A_run_directory_whose_newest_checkpoint_is_corrupt_resumes_from_the_previous_one_with_one_warning_naming_the_file()
    {
        using var dir = new TempDirectory();
        var run = dir.Combine("run");
        var first = await CliRunner.RunAsync(["train", "--run-dir", run, "--max-steps", "20", .. Run]);
        Assert.True(first.ExitCode == 0, first.ToString());
        var damaged = Path.Combine(run, "checkpoints", "step-000000020");
        var model = Path.Combine(damaged, "model.safetensors");
        var bytes = await File.ReadAllBytesAsync(model);
        bytes[^5] ^= 0x10;
        await File.WriteAllBytesAsync(model, bytes);

        var resumed = await CliRunner.RunAsync(["train", "--resume", run, "--max-steps", "30", .. Run]);

        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        var warning = Assert.Single(resumed.Error.Split('\n'), l => l.StartsWith("warning:", StringComparison.Ordinal));
        Assert.StartsWith($"warning: {model} is corrupt: SHA-256 mismatch", warning, StringComparison.Ordinal);
        Assert.Contains("resuming after step 10", resumed.Output, StringComparison.Ordinal);
        // Step 20 was trained again and written under its name; the damaged copy is set aside, not lost.
        Assert.Equal(30, RnnCluster.Model.Checkpoints.CheckpointReader.Load(run).TrainerState.Step);
        RnnCluster.Model.Checkpoints.CheckpointReader.Verify(damaged);
        Assert.Single(Directory.GetDirectories(Path.Combine(run, "checkpoints"), "step-000000020.damaged-*"));
    }

    [Fact]
    public async Task A_run_directory_without_a_valid_checkpoint_is_refused_naming_each_damaged_file()
    {
        using var dir = new TempDirectory();
        var run = dir.Combine("run");
        var first = await CliRunner.RunAsync(["train", "--run-dir", run, "--max-steps", "20", .. Run]);
        Assert.True(first.ExitCode == 0, first.ToString());
        var checkpoints = Path.Combine(run, "checkpoints");
        await File.AppendAllTextAsync(Path.Combine(checkpoints, "step-000000010", "trainer.json"), " ");
        await File.WriteAllTextAsync(Path.Combine(checkpoints, "step-000000020", "config.hocon"), "model.layers = 1\n");

        var r = await CliRunner.RunAsync(["train", "--resume", run, "--max-steps", "30", .. Run]);

        Assert.Equal(1, r.ExitCode);
        var error = Assert.Single(r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: run directory {run} has no valid checkpoint", error, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(checkpoints, "step-000000010", "trainer.json") + " is corrupt", error, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(checkpoints, "step-000000020", "config.hocon") + " is corrupt", error, StringComparison.Ordinal);
    }
}
