using System.Text.Json;
using RnnCluster.Data;
using RnnCluster.Tests.Cli;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Training;

/// <summary>The trainer really learns the built-in tasks (behaviour, not timings).</summary>
public sealed class LearningOutcomeTests
{
    /// <summary>builtin:parity's preset alone (no --set) learns the task: what a new user gets from the documented command.</summary>
    [Fact]
    public async Task Parity_reaches_full_accuracy_on_held_out_sequences_of_length_20_with_its_preset_and_no_settings()
    {
        using var dir = new TempDirectory();
        var result = await CliRunner.RunAsync("train", "--data", "builtin:parity", "--run-dir", dir.Path, "--plain", "--sample-length", "0");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("preset builtin:parity", result.Output, StringComparison.Ordinal);
        using var summary = JsonDocument.Parse(File.ReadAllText(dir.Combine("summary.json")));
        Assert.Equal("tagging", summary.RootElement.GetProperty("task").GetString());
        Assert.Equal(1.0, summary.RootElement.GetProperty("testAccuracy").GetDouble());
    }

    /// <summary>
    /// Threshold: validation perplexity at least 3x below the unigram baseline. A model that learned only
    /// word frequencies scores the baseline (about 60 here); 3 epochs of a 1x64 LSTM reach about 10.6
    /// (5.7x), so 3x leaves a wide margin while still requiring real use of context.
    /// </summary>
    [Fact]
    public async Task Agreement_validation_perplexity_falls_three_times_below_the_unigram_baseline()
    {
        using var dir = new TempDirectory();
        var result = await CliRunner.RunAsync(
            "train", "--data", "builtin:agreement", "--run-dir", dir.Path, "--epochs", "3", "--plain", "--sample-length", "0",
            "--set", "data.builtin.sentences=3000", "--set", "model.layers=1", "--set", "model.hidden-size=64", "--set", "model.embedding-size=32",
            "--set", "training.optimizer=adam", "--set", "training.learning-rate=0.01", "--set", "training.clip-norm=1",
            "--set", "data.bptt=20", "--set", "runtime.threads=1", "--set", "training.log-every-steps=1000");
        Assert.True(result.ExitCode == 0, result.ToString());

        var corpus = CorpusLoader.Load("builtin:agreement", new CorpusOptions { BuiltinSentences = 3000, BuiltinSeed = 1 });
        var baseline = UnigramBaseline.Perplexity(corpus.Train, corpus.Valid, corpus.Vocabulary.Count);
        using var summary = JsonDocument.Parse(File.ReadAllText(dir.Combine("summary.json")));
        var perplexity = summary.RootElement.GetProperty("validPerplexity").GetDouble();
        Assert.True(perplexity < baseline / 3, $"validation perplexity {perplexity:F2} vs unigram baseline {baseline:F2}");
    }
}
