using System.Text.Json;
using RnnCluster.Coordinator.Cli;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Cli;

/// <summary>Sequence tasks from the command line: train through the workers, eval, predict, and bad task data.</summary>
public sealed class TaskCommandTests
{
    private static readonly string[] TinyTask =
    [
        "--set", "model.layers=1", "--set", "model.hidden-size=16", "--set", "model.embedding-size=16", "--set", "model.bidirectional=true",
        "--set", "model.dropout.embedding=0", "--set", "model.dropout.between-layers=0", "--set", "model.dropout.output=0",
        "--set", "data.builtin.sentences=500", "--set", "data.batch-size=16", "--set", "runtime.threads=1",
        "--set", "training.optimizer=adam", "--set", "training.learning-rate=0.01", "--set", "training.schedule=constant",
        "--set", "training.log-every-steps=5", "--epochs", "1", "--plain", "--sample-length", "0",
    ];

    [Fact]
    public async Task An_acceptor_trains_on_two_workers_and_eval_and_predict_read_its_checkpoint()
    {
        using var dir = new TempDirectory();
        var run = dir.Combine("run");
        var train = await CliRunner.RunAsync(["train", "--data", "builtin:agreement-number", "--run-dir", run, "--workers", "2", .. TinyTask]);
        Assert.True(train.ExitCode == 0, train.ToString());
        Assert.Contains("task: acceptor on builtin:agreement-number", train.Output, StringComparison.Ordinal);
        Assert.Contains("macro-F1", train.Output, StringComparison.Ordinal);

        using (var summary = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(run, "summary.json"))))
        {
            Assert.Equal("acceptor", summary.RootElement.GetProperty("task").GetString());
            Assert.True(summary.RootElement.GetProperty("testScores").GetProperty("macroF1").GetDouble() > 0);
        }

        var evaluations = File.ReadLines(Path.Combine(run, "metrics.jsonl")).Where(l => l.Contains("\"kind\":\"valid\"", StringComparison.Ordinal)).ToArray();
        Assert.NotEmpty(evaluations);
        Assert.All(evaluations, l => Assert.Contains("\"macroF1\":", l, StringComparison.Ordinal));

        var eval = await CliRunner.RunAsync("eval", "--checkpoint", run, "--json");
        Assert.True(eval.ExitCode == 0, eval.ToString());
        using (var result = JsonDocument.Parse(eval.Output))
        {
            Assert.Equal("acceptor", result.RootElement.GetProperty("task").GetString());
            Assert.True(result.RootElement.GetProperty("accuracy").GetDouble() > 0.5);
            Assert.True(result.RootElement.TryGetProperty("macroF1", out _));
        }

        var inputs = dir.Write("inputs.txt", "the dog\nthe dogs near the cat\n\n");
        var predict = await CliRunner.RunAsync("predict", "--checkpoint", run, "--input", inputs);
        Assert.True(predict.ExitCode == 0, predict.ToString());
        var lines = predict.Output.Split('\n');
        Assert.Equal(4, lines.Length); // three inputs, the last one empty, and the final newline
        Assert.All(lines[..2], l => Assert.True(l is "singular" or "plural", predict.ToString()));
        Assert.Equal(string.Empty, lines[2]);
    }

    [Fact]
    public async Task Predict_reads_standard_input_and_prints_a_tag_per_token_and_a_decoded_string()
    {
        using var dir = new TempDirectory();
        foreach (var (data, input, check) in new (string, string, Func<string, bool>)[]
        {
            ("builtin:tagging", "the dog sees the cat .", o => o.Split(' ').Length == 6),
            ("builtin:reverse", "abc", o => o.All(c => c is >= 'a' and <= 'j')),
        })
        {
            var run = dir.Combine(data[8..]);
            var train = await CliRunner.RunAsync(["train", "--data", data, "--run-dir", run, "--workers", "0", "--max-steps", "5", .. TinyTask]);
            Assert.True(train.ExitCode == 0, train.ToString());

            using var output = new StringWriter();
            using var error = new StringWriter();
            var code = await CliApp.RunAsync(["predict", "--checkpoint", run], new CliConsole(output, error, IsInteractive: false) { In = new StringReader(input + "\n") }, CancellationToken.None);
            Assert.True(code == 0, error.ToString());
            var predicted = output.ToString().TrimEnd('\n');
            Assert.True(check(predicted), $"{data}: '{predicted}'");
        }
    }

    [Fact]
    public async Task A_label_that_training_never_saw_is_named_with_its_file_and_line_by_eval()
    {
        using var dir = new TempDirectory();
        var data = dir.Combine("data");
        Directory.CreateDirectory(data);
        var examples = string.Concat(Enumerable.Range(0, 40).Select(i => i % 2 == 0 ? $"spam\tbuy cheap pills {i}\n" : $"ham\tsee you at lunch {i}\n"));
        foreach (var split in new[] { "train", "valid", "test" })
        {
            await File.WriteAllTextAsync(Path.Combine(data, split + ".tsv"), examples);
        }

        var run = dir.Combine("run");
        var train = await CliRunner.RunAsync(["train", "--data", data, "--set", "data.task=acceptor", "--run-dir", run, "--workers", "1", .. TinyTask]);
        Assert.True(train.ExitCode == 0, train.ToString());

        var bad = dir.Write("bad.tsv", "spam\tbuy pills\nphishing\tyour account\n");
        var eval = await CliRunner.RunAsync("eval", "--checkpoint", run, "--data", bad);
        Assert.Equal(1, eval.ExitCode);
        Assert.StartsWith("error: ", eval.Error, StringComparison.Ordinal);
        Assert.Contains($"{bad}:2", eval.Error, StringComparison.Ordinal);
        Assert.Contains("unknown label 'phishing'", eval.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_empty_task_data_set_is_named_and_no_run_directory_is_created()
    {
        using var dir = new TempDirectory();
        var empty = dir.Write("empty.tsv", "\n\n");
        var r = await CliRunner.RunAsync(["train", "--data", empty, "--set", "data.task=acceptor", "--run-dir", dir.Combine("run"), .. TinyTask]);
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith("error: ", r.Error, StringComparison.Ordinal);
        Assert.Contains("empty.tsv", r.Error, StringComparison.Ordinal);
        Assert.Contains("empty data set", r.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir.Combine("run")));
    }
}
