using System.Globalization;
using System.Text.Json;
using RnnCluster.Tests.Cli;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Interop;

/// <summary>
/// Our model.safetensors loads into the equivalent PyTorch nn.Module with load_state_dict(strict=True)
/// and gives the same evaluation loss as `rnncluster eval` (bench/lm/pytorch_check.py on Debian's
/// python3-torch 1.13, installed by scripts/setup.sh: other kernels, the same maths).
/// </summary>
public sealed class PyTorchCompatibilityTests
{
    [Theory]
    [InlineData("lstm", false)]
    [InlineData("lstm", true)]
    [InlineData("gru", false)]
    [InlineData("rnn_tanh", false)]
    public async Task A_checkpoint_loads_into_pytorch_and_evaluates_to_the_same_loss(string cell, bool tied)
    {
        using var dir = new TempDirectory();
        var data = dir.Combine("eval.txt");
        await File.WriteAllTextAsync(data, "the dog near the cars runs .\nthe keys that the man holds are red .\nsome zebra unknownword sleeps .\n");
        var train = await CliRunner.RunAsync(
        [
            "train", "--run-dir", dir.Combine("run"), "--max-steps", "4", .. CliRunner.TinyModel,
            "--set", $"model.cell={cell}", "--set", $"model.tie-weights={(tied ? "true" : "false")}", "--set", "model.layers=2",
        ]);
        Assert.True(train.ExitCode == 0, train.ToString());

        var eval = await CliRunner.RunAsync("eval", "--checkpoint", dir.Combine("run"), "--data", data, "--json");
        Assert.True(eval.ExitCode == 0, eval.ToString());
        using var ours = JsonDocument.Parse(eval.Output);

        var (exit, output, error) = await PythonRunner.RunAsync(Path.Combine(RepositoryRoot.Path, "bench", "lm", "pytorch_check.py"), dir.Combine("run"), data);
        Assert.True(exit == 0, $"pytorch_check.py exited {exit}: {error}{output}");
        using var theirs = JsonDocument.Parse(output);

        Assert.Equal(ours.RootElement.GetProperty("tokens").GetInt64(), theirs.RootElement.GetProperty("tokens").GetInt64());
        var a = ours.RootElement.GetProperty("loss").GetDouble();
        var b = theirs.RootElement.GetProperty("loss").GetDouble();
        Assert.True(Math.Abs(a - b) <= 1e-5 * Math.Abs(b), string.Create(CultureInfo.InvariantCulture, $"rnncluster {a:R} vs pytorch {b:R}"));
    }
}
