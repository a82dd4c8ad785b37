using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using RnnCluster.Data;
using RnnCluster.Data.Tasks;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Training;
using RnnCluster.Training.Tasks;

namespace RnnCluster.Coordinator.Cli;

/// <summary><c>rnncluster eval</c>: loss, perplexity and bits per token of a checkpoint on some data.</summary>
internal static class EvalCommand
{
    public static Command Create(CliConsole console)
    {
        var checkpoint = new Option<DirectoryInfo>("--checkpoint") { Description = "checkpoint directory, or a run directory (its newest checkpoint)", Required = true };
        var data = new Option<string?>("--data") { Description = "text file, corpus directory (its test.txt) or builtin:NAME (its test split); default: the data the model was trained on" };
        var json = new Option<bool>("--json") { Description = "print the result as JSON" };
        var command = new Command("eval", "Evaluate a checkpoint: loss, perplexity, bits per token (per character for char models), accuracy.")
        {
            checkpoint, data, json,
        };
        command.SetAction(async (parse, ct) =>
        {
            var loaded = CheckpointReader.Load(parse.GetValue(checkpoint)!.FullName);
            foreach (var skipped in loaded.Skipped)
            {
                await console.Error.WriteLineAsync($"warning: {skipped}").ConfigureAwait(false);
            }

            if (TrainedTaskModel.IsTask(loaded))
            {
                return await EvaluateTaskAsync(console, loaded, parse.GetValue(data), parse.GetValue(json), ct).ConfigureAwait(false);
            }

            using var trained = TrainedModel.Load(loaded.Directory);
            var settings = trained.Settings;
            var spec = parse.GetValue(data) ?? settings.Data.Path;
            var split = CorpusLoader.LoadForEvaluation(spec, trained.Vocabulary, TrainingSetup.Corpus(settings.Data));
            var result = Evaluator.Evaluate(trained.Model, split, settings.Data.EvalBatchSize, settings.Data.Bptt, ct);
            var unit = trained.Vocabulary.Tokenizer == TextTokenizer.Char ? "bitsPerCharacter" : "bitsPerToken";
            if (parse.GetValue(json))
            {
                var payload = new Dictionary<string, object>
                {
                    ["checkpoint"] = trained.Checkpoint.Directory,
                    ["data"] = spec,
                    ["tokens"] = result.Tokens,
                    ["loss"] = result.Loss,
                    ["perplexity"] = result.Perplexity,
                    [unit] = result.BitsPerToken,
                    ["accuracy"] = result.Accuracy,
                };
                await console.Out.WriteLineAsync(JsonSerializer.Serialize(payload, JsonOptions)).ConfigureAwait(false);
            }
            else
            {
                await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{spec} with {trained.Checkpoint.Directory}: {result.Tokens:N0} tokens, loss {result.Loss:F4}, perplexity {result.Perplexity:F2}, {result.BitsPerToken:F3} {(unit == "bitsPerToken" ? "bits/token" : "bits/char")}, accuracy {result.Accuracy:P2}")).ConfigureAwait(false);
            }

            return CliApp.ExitOk;
        });
        return command;
    }

    /// <summary>An acceptor, transducer or encoder–decoder checkpoint: its task's figures on the data's test examples.</summary>
    private static async Task<int> EvaluateTaskAsync(CliConsole console, LoadedCheckpoint loaded, string? data, bool json, CancellationToken cancellationToken)
    {
        using var trained = TrainedTaskModel.Load(loaded);
        var spec = data ?? trained.Settings.Data.Path;
        var result = trained.Evaluate(spec, cancellationToken);
        var kind = trained.Vocabularies.Kind;
        var scores = result.Scores?.Named().ToDictionary(n => n.Name, n => n.Value);
        if (json)
        {
            var payload = new Dictionary<string, object>
            {
                ["checkpoint"] = trained.Checkpoint.Directory,
                ["data"] = spec,
                ["task"] = kind.ToName(),
                ["examples"] = result.Scores?.Examples ?? 0,
                ["targets"] = result.Tokens,
                ["loss"] = result.Loss,
                ["accuracy"] = result.Accuracy,
            };
            foreach (var (name, value) in scores ?? [])
            {
                payload[name] = value;
            }

            await console.Out.WriteLineAsync(JsonSerializer.Serialize(payload, JsonOptions)).ConfigureAwait(false);
        }
        else
        {
            await console.Out.WriteLineAsync($"{spec} with {trained.Checkpoint.Directory}: {result.Scores?.Examples:N0} examples, {TaskFigures.Line(kind.ToName(), result.Loss, result.Accuracy, scores, kind)}").ConfigureAwait(false);
        }

        return CliApp.ExitOk;
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };
}
