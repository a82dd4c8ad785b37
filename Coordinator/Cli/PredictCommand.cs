using System.CommandLine;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Training.Tasks;

namespace RnnCluster.Coordinator.Cli;

/// <summary><c>rnncluster predict</c>: a task checkpoint's label, tags or decoded output for each input line.</summary>
internal static class PredictCommand
{
    private const int LinesPerBatch = 64;

    public static Command Create(CliConsole console)
    {
        var checkpoint = new Option<DirectoryInfo>("--checkpoint") { Description = "checkpoint directory of an acceptor, transducer or encoder-decoder run, or a run directory (its newest checkpoint)", Required = true };
        var input = new Option<FileInfo?>("--input") { Description = "read inputs from this file instead of standard input, one per line (tokens as in training: words separated by spaces, or characters)" };
        var command = new Command("predict", "Print a task model's output for each input line: the label (acceptor), one tag per token (transducer) or the decoded sequence (encoder-decoder).")
        {
            checkpoint, input,
        };
        command.SetAction(async (parse, ct) =>
        {
            var loaded = CheckpointReader.Load(parse.GetValue(checkpoint)!.FullName);
            foreach (var skipped in loaded.Skipped)
            {
                await console.Error.WriteLineAsync($"warning: {skipped}").ConfigureAwait(false);
            }

            if (!TrainedTaskModel.IsTask(loaded))
            {
                throw new CliUsageException($"{loaded.Directory} holds a language model; predict takes an acceptor, transducer or encoder-decoder checkpoint (use 'rnncluster sample' for language models)");
            }

            using var trained = TrainedTaskModel.Load(loaded);
            using var reader = parse.GetValue(input) is { } file ? new StreamReader(file.FullName) : null;
            var source = reader ?? console.In;
            var lines = new List<string>(LinesPerBatch);
            while (await source.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
            {
                lines.Add(line);
                if (lines.Count == LinesPerBatch)
                {
                    await WriteAsync(console, trained, lines).ConfigureAwait(false);
                }
            }

            await WriteAsync(console, trained, lines).ConfigureAwait(false);
            return CliApp.ExitOk;
        });
        return command;
    }

    private static async Task WriteAsync(CliConsole console, TrainedTaskModel trained, List<string> lines)
    {
        if (lines.Count == 0)
        {
            return;
        }

        foreach (var output in trained.Predict(lines))
        {
            await console.Out.WriteLineAsync(output).ConfigureAwait(false);
        }

        lines.Clear();
    }
}
