using System.Text.Json;
using RnnCluster.Coordinator.Cli;

namespace RnnCluster.Tests.Cli;

/// <summary>Runs the <c>rnncluster</c> command line in-process with captured output.</summary>
internal static class CliRunner
{
    /// <summary>A model small enough for a test to train in a second or two; dropout off unless overridden.</summary>
    public static readonly string[] TinyModel =
    [
        "--set", "model.layers=1", "--set", "model.hidden-size=16", "--set", "model.embedding-size=16",
        "--set", "model.dropout.embedding=0", "--set", "model.dropout.between-layers=0", "--set", "model.dropout.output=0",
        "--set", "data.builtin.sentences=300", "--set", "data.bptt=10", "--set", "data.batch-size=8",
        "--set", "runtime.threads=1", "--set", "training.log-every-steps=1", "--plain", "--sample-length", "0",
    ];

    public static async Task<CliResult> RunAsync(params string[] args) => await RunAsync(args, CancellationToken.None);

    public static async Task<CliResult> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CliApp.RunAsync(args, new CliConsole(output, error, IsInteractive: false), cancellationToken);
        return new CliResult(code, output.ToString(), error.ToString());
    }

    /// <summary>The per-step training losses recorded in a run's metrics.jsonl, by step.</summary>
    public static SortedDictionary<long, double> TrainLosses(string runDirectory)
    {
        var losses = new SortedDictionary<long, double>();
        foreach (var line in File.ReadLines(Path.Combine(runDirectory, "metrics.jsonl")))
        {
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.GetProperty("kind").GetString() == "train")
            {
                losses[doc.RootElement.GetProperty("step").GetInt64()] = doc.RootElement.GetProperty("loss").GetDouble();
            }
        }

        return losses;
    }
}

internal sealed record CliResult(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}";
}
