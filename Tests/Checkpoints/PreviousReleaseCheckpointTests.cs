using System.Globalization;
using System.Text.Json;
using RnnCluster.Tests.Cli;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Checkpoints;

/// <summary>
/// Checkpoints written by the previous release (8662d3e: the C++ bridge over Debian's libtorch 1.13,
/// Tests/Fixtures/PreviousRelease) still load, verify, evaluate to the figures that release printed,
/// and resume training on TorchSharp.
/// </summary>
public sealed class PreviousReleaseCheckpointTests
{
    [Theory]
    [InlineData("lm-lstm-adam")]
    [InlineData("lm-gru-sgd")]
    [InlineData("acceptor")]
    [InlineData("transducer")]
    [InlineData("seq2seq")]
    public async Task A_previous_release_checkpoint_evaluates_to_the_loss_that_release_printed(string name)
    {
        using var dir = new TempDirectory();
        var checkpoint = CopyFixture(name, dir.Path);
        using var expected = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(FixtureRoot, name + ".expected.json")));
        var old = expected.RootElement.GetProperty("eval");

        var eval = await CliRunner.RunAsync("eval", "--checkpoint", checkpoint, "--json");

        Assert.True(eval.ExitCode == 0, eval.ToString());
        using var ours = JsonDocument.Parse(eval.Output);
        var a = ours.RootElement.GetProperty("loss").GetDouble();
        var b = old.GetProperty("loss").GetDouble();

        // Same weights, other kernels (libtorch 1.13 packed sequences vs 2.10 padded oneDNN): float noise only.
        Assert.True(Math.Abs(a - b) <= 1e-5 * Math.Abs(b), string.Create(CultureInfo.InvariantCulture, $"{name}: loss {a:R} now vs {b:R} from the previous release"));
        var counted = old.TryGetProperty("tokens", out var tokens) ? ("tokens", tokens.GetInt64()) : ("targets", old.GetProperty("targets").GetInt64());
        Assert.Equal(counted.Item2, ours.RootElement.GetProperty(counted.Item1).GetInt64());
        Assert.Equal(old.GetProperty("accuracy").GetDouble(), ours.RootElement.GetProperty("accuracy").GetDouble(), 3);
    }

    [Theory]
    [InlineData("lm-lstm-adam")]
    [InlineData("lm-gru-sgd")]
    [InlineData("seq2seq")]
    public async Task A_previous_release_checkpoint_resumes_training_where_it_stopped(string name)
    {
        using var dir = new TempDirectory();
        var checkpoint = CopyFixture(name, dir.Path);

        var train = await CliRunner.RunAsync("train", "--resume", checkpoint, "--max-steps", "23", "--plain", "--sample-length", "0", "--set", "training.log-every-steps=1");

        Assert.True(train.ExitCode == 0, train.ToString());
        var runDirectory = Path.GetDirectoryName(Path.GetDirectoryName(checkpoint))!;
        var steps = CliRunner.TrainLosses(runDirectory).Keys.ToArray();
        Assert.Equal([21L, 22L, 23L], steps);
        Assert.True(Directory.Exists(Path.Combine(runDirectory, "checkpoints", "step-000000023")), train.ToString());
    }

    private static string FixtureRoot => Path.Combine(RepositoryRoot.Path, "Tests", "Fixtures", "PreviousRelease");

    /// <summary>Lays the fixture out as the previous release did: RUN/checkpoints/step-000000020.</summary>
    private static string CopyFixture(string name, string root)
    {
        var target = Path.Combine(root, "run", "checkpoints", "step-000000020");
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(Path.Combine(FixtureRoot, name)))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        return target;
    }
}
