using System.Text.Json;
using RnnCluster.Tests.Cli;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Training;

public sealed class EarlyStopTests
{
    [Fact]
    public async Task Patience_stops_the_run_after_that_many_evaluations_without_improvement()
    {
        using var dir = new TempDirectory();
        // A learning rate of 1e-30 leaves float32 parameters unchanged, so the validation loss repeats
        // exactly: step 2 sets the best, steps 4 and 6 do not improve it, and patience 2 stops at step 6.
        var r = await CliRunner.RunAsync(
        [
            "train", "--run-dir", dir.Path, "--max-steps", "100", .. CliRunner.TinyModel,
            "--set", "training.learning-rate=1e-30", "--set", "training.eval-every-steps=2", "--set", "training.patience=2",
        ]);
        Assert.True(r.ExitCode == 0, r.ToString());
        using var summary = JsonDocument.Parse(await File.ReadAllTextAsync(dir.Combine("summary.json")));
        Assert.Equal("early-stop", summary.RootElement.GetProperty("stoppedBy").GetString());
        Assert.Equal(6, summary.RootElement.GetProperty("steps").GetInt64());
    }
}
