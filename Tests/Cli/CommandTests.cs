using System.Text.Json;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Cli;

/// <summary>What a user sees from each verb after a tiny training run.</summary>
public sealed class CommandTests
{
    [Fact]
    public async Task Train_writes_metrics_summary_and_a_committed_checkpoint_then_eval_reproduces_the_test_loss()
    {
        using var dir = new TempDirectory();
        // TinyModel ends with "--sample-length 0"; this run asks for a sample instead.
        var train = await CliRunner.RunAsync(["train", "--run-dir", dir.Path, "--max-steps", "5", .. CliRunner.TinyModel[..^2], "--sample-length", "8"]);
        Assert.True(train.ExitCode == 0, train.ToString());
        Assert.Contains("sample:", train.Output, StringComparison.Ordinal);
        Assert.Equal(5, CliRunner.TrainLosses(dir.Path).Count);
        var checkpoint = Directory.GetDirectories(dir.Combine("checkpoints"), "step-*").Single();
        Assert.True(File.Exists(Path.Combine(checkpoint, "COMMITTED")));

        using var summary = JsonDocument.Parse(await File.ReadAllTextAsync(dir.Combine("summary.json")));
        Assert.Equal("max-steps", summary.RootElement.GetProperty("stoppedBy").GetString());
        var testLoss = summary.RootElement.GetProperty("testLoss").GetDouble();

        // eval with no --data uses the data the model was trained on: its test split.
        var eval = await CliRunner.RunAsync("eval", "--checkpoint", dir.Path, "--json");
        Assert.True(eval.ExitCode == 0, eval.ToString());
        using var evalJson = JsonDocument.Parse(eval.Output);
        Assert.Equal(testLoss, evalJson.RootElement.GetProperty("loss").GetDouble(), 6);
    }

    [Fact]
    public async Task Sample_by_top_k_and_by_beam_search_prints_vocabulary_words_and_repeats_for_a_seed()
    {
        using var dir = new TempDirectory();
        await BadInputTests.TrainTinyAsync(dir, "run");
        var a = await CliRunner.RunAsync("sample", "--checkpoint", dir.Combine("run"), "--prime", "the dog", "--length", "12", "--top-k", "5", "--seed", "3");
        var b = await CliRunner.RunAsync("sample", "--checkpoint", dir.Combine("run"), "--prime", "the dog", "--length", "12", "--top-k", "5", "--seed", "3");
        var beam = await CliRunner.RunAsync("sample", "--checkpoint", dir.Combine("run"), "--prime", "the dog", "--length", "6", "--beam", "4");
        Assert.True(a.ExitCode == 0, a.ToString());
        Assert.True(beam.ExitCode == 0, beam.ToString());
        Assert.Equal(a.Output, b.Output);
        Assert.StartsWith("the dog ", a.Output, StringComparison.Ordinal);
        Assert.StartsWith("the dog", beam.Output, StringComparison.Ordinal);
        Assert.True(beam.Output.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Length >= 3, beam.Output);
    }

    [Fact]
    public async Task Info_describes_the_architecture_and_verifies_the_files()
    {
        using var dir = new TempDirectory();
        var checkpoint = await BadInputTests.TrainTinyAsync(dir, "run");
        var r = await CliRunner.RunAsync("info", "--checkpoint", checkpoint);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("lstm x1, embedding 16, hidden 16, vocabulary 168", r.Output, StringComparison.Ordinal);
        Assert.Contains("SHA-256 ok", r.Output, StringComparison.Ordinal);
        Assert.Contains("model.safetensors", r.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_lists_every_verb()
    {
        var r = await CliRunner.RunAsync("--help");
        Assert.Equal(0, r.ExitCode);
        foreach (var verb in new[] { "train", "eval", "sample", "info" })
        {
            Assert.Contains(verb, r.Output, StringComparison.Ordinal);
        }
    }
}
