using System.Diagnostics;
using RnnCluster.Tests.Support;
using Xunit.Abstractions;

namespace RnnCluster.Tests.Training.Tasks;

/// <summary>
/// Each kind of task model learns its builtin task through the data-parallel path to the issue's
/// thresholds, measured on the test split (held out, never trained on), with nothing but the task's
/// preset: what `train --data builtin:NAME` gives a new user.
/// </summary>
public sealed class TaskLearningTests(ITestOutputHelper output)
{
    [Fact]
    public async Task An_acceptor_predicts_the_verbs_number_with_at_least_95_percent_accuracy()
    {
        using var dir = new TempDirectory();
        var outcome = await Timed(() => TaskRuns.RunAsync(TaskRuns.Preset("builtin:agreement-number"), dir.Path));
        Assert.Equal("acceptor", outcome.Summary.Task);
        Assert.True(outcome.Summary.TestAccuracy >= 0.95, $"test accuracy {outcome.Summary.TestAccuracy:P2}");
        Assert.NotNull(outcome.Summary.TestScores?["macroF1"]);
    }

    [Fact]
    public async Task A_transducer_tags_parts_of_speech_with_at_least_98_percent_token_accuracy()
    {
        using var dir = new TempDirectory();
        var outcome = await Timed(() => TaskRuns.RunAsync(TaskRuns.Preset("builtin:tagging"), dir.Path));
        Assert.Equal("transducer", outcome.Summary.Task);
        Assert.True(outcome.Summary.TestAccuracy >= 0.98, $"test token accuracy {outcome.Summary.TestAccuracy:P2}");
    }

    [Fact]
    public async Task An_encoder_decoder_reverses_strings_up_to_length_8_with_at_least_90_percent_exact_match()
    {
        using var dir = new TempDirectory();
        // The preset's encoder is one-directional: its final state holds the last symbol freshest, which
        // reversal emits first. Measured: 94.5% exact match after 750 steps here, where a bidirectional
        // encoder of the same size (through the learned bridge) reached 77% in twice the steps.
        var outcome = await Timed(() => TaskRuns.RunAsync(TaskRuns.Preset("builtin:reverse"), dir.Path));
        Assert.Equal("encoder-decoder", outcome.Summary.Task);
        var exact = outcome.Summary.TestScores!["exactMatch"];
        Assert.True(exact >= 0.90, $"test exact match {exact:P2}, edit distance {outcome.Summary.TestScores["editDistance"]:F3}");
    }

    private async Task<TaskRunOutcome> Timed(Func<Task<TaskRunOutcome>> run)
    {
        var watch = Stopwatch.StartNew();
        var outcome = await run();
        var s = outcome.Summary;
        output.WriteLine($"{s.Task}: {s.Steps} steps in {watch.Elapsed.TotalSeconds:F1} s; test loss {s.TestLoss:F4}, accuracy {s.TestAccuracy:P2}, {string.Join(", ", (s.TestScores ?? new Dictionary<string, double>()).Select(p => $"{p.Key} {p.Value:F4}"))}");
        return outcome;
    }
}
