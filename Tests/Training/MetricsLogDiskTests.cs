using System.Text.Json;
using Microsoft.Extensions.Logging;
using RnnCluster.Tests.Cli;
using RnnCluster.Tests.Support;
using RnnCluster.Training;

namespace RnnCluster.Tests.Training;

/// <summary>
/// metrics.jsonl on a real full disk (a small tmpfs): a line that cannot be written is dropped whole and
/// reported, never thrown into the trainer, and writing picks up again once there is room.
/// </summary>
public sealed class MetricsLogDiskTests
{
    [MountFact]
    public void On_a_full_disk_lines_are_dropped_whole_reported_once_and_written_again_once_there_is_room()
    {
        using var dir = new TempDirectory();
        var mount = dir.Combine("disk");
        using var disk = ScratchMount.Tmpfs(mount, 64 * 1024);
        using var logs = new CapturingLoggerProvider();
        var path = Path.Combine(mount, "metrics.jsonl");
        using var metrics = new MetricsLog(path, append: false, logs.CreateLogger("metrics"));
        FillUp(Path.Combine(mount, "filler"));

        // The metrics file's page may still hold a few lines; then a write fails, part way into a line or not.
        var written = 0;
        for (var step = 1; step <= 10_000 && metrics.DroppedLines == 0; step++)
        {
            metrics.Train(step, 1, 2.5, 1.0, 0.5, 1000, step);
            written = metrics.DroppedLines == 0 ? step : written;
        }

        Assert.Equal(1, metrics.DroppedLines);
        metrics.Train(written + 2, 1, 2.5, 1.0, 0.5, 1000, 1);
        Assert.Equal(2, metrics.DroppedLines);
        var dropped = Assert.Single(logs.Entries, e => e.EventId.Id == 2080);
        Assert.Equal(LogLevel.Error, dropped.Level);
        Assert.Contains("No space left on device", dropped.Message, StringComparison.Ordinal);
        Assert.Equal(Enumerable.Range(1, written).Select(s => (long)s), Steps(path));

        File.Delete(Path.Combine(mount, "filler"));
        metrics.Train(written + 3, 1, 2.5, 1.0, 0.5, 1000, 1);

        Assert.Equal(0, metrics.DroppedLines);
        Assert.Contains("writing again after 2 dropped metrics lines", Assert.Single(logs.Entries, e => e.EventId.Id == 2081).Message, StringComparison.Ordinal);
        Assert.Equal([.. Enumerable.Range(1, written).Select(s => (long)s), written + 3], Steps(path));
    }

    [MountFact]
    public async Task A_run_whose_whole_directory_fills_up_ends_through_the_checkpoint_policy_with_whole_metrics_lines()
    {
        using var dir = new TempDirectory();
        var run = dir.Combine("run");
        // Three pages free: the run fence and lock take one each, metrics.jsonl fills the third within the
        // first epoch (a line per step), and the epoch-end checkpoint cannot be written. The in-process coordinator must end the run by checkpoint.on-failure
        // (stop: exit 1 naming the checkpoint), not crash on a metrics line and restart from a checkpoint.
        using var disk = ScratchMount.Tmpfs(run, 256 * 1024);
        FillUp(Path.Combine(run, "filler"), leave: 3 * 4096);

        var r = await CliRunner.RunAsync(["train", "--run-dir", run, "--workers", "2", "--max-steps", "200", .. CliRunner.TinyModel, "--set", "checkpoint.every-steps=0", "--set", "training.log-every-steps=1"]);

        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.True(r.Error.Contains("a metrics line could not be written (No space left on device", StringComparison.Ordinal), r.ToString());
        Assert.Contains("error: checkpoint of step", r.Error, StringComparison.Ordinal);
        Assert.Contains("No space left on device", r.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled", r.Error, StringComparison.Ordinal);
        Assert.Contains("The run ends without a restart", r.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Resumed from", r.Error, StringComparison.Ordinal);
        // Whatever reached metrics.jsonl is whole lines.
        foreach (var line in File.ReadLines(Path.Combine(run, "metrics.jsonl")))
        {
            using var _ = JsonDocument.Parse(line);
        }
    }

    /// <summary>Writes zeros until the file system is full, then frees <paramref name="leave"/> bytes.</summary>
    private static void FillUp(string path, long leave = 0)
    {
        using (var filler = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
        {
            var block = new byte[4096];
            try
            {
                while (true)
                {
                    filler.Write(block);
                }
            }
            catch (IOException)
            {
                // ENOSPC: full.
            }

            filler.SetLength(Math.Max(0, filler.Length - leave));
        }
    }

    private static IEnumerable<long> Steps(string path) =>
        File.ReadLines(path).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64()).ToArray();
}
