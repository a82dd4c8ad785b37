using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using RnnCluster.Model;
using RnnCluster.Model.Checkpoints;

namespace RnnCluster.Coordinator.Cli;

/// <summary><c>rnncluster info</c>: what a checkpoint holds, after verifying every file's hash.</summary>
internal static class InfoCommand
{
    public static Command Create(CliConsole console)
    {
        var checkpoint = new Option<DirectoryInfo>("--checkpoint") { Description = "checkpoint directory, or a run directory (its newest checkpoint)", Required = true };
        var json = new Option<bool>("--json") { Description = "print the manifest and trainer state as JSON" };
        var command = new Command("info", "Verify a checkpoint and describe it: step, architecture, vocabulary, files.") { checkpoint, json };
        command.SetAction(async (parse, ct) =>
        {
            var loaded = CheckpointReader.Load(parse.GetValue(checkpoint)!.FullName);
            foreach (var skipped in loaded.Skipped)
            {
                // A run directory shows its newest checkpoint that verifies; each damaged newer one is named.
                await console.Error.WriteLineAsync($"warning: {skipped}").ConfigureAwait(false);
            }

            var m = loaded.Manifest;
            var s = loaded.TrainerState;
            var parameters = loaded.ModelTensors.Where(t => !(m.Architecture.TieWeights && t.Name == "decoder.weight")).Sum(t => t.ElementCount);
            if (parse.GetValue(json))
            {
                var payload = new { directory = loaded.Directory, manifest = m, trainer = s, parameters };
                await console.Out.WriteLineAsync(JsonSerializer.Serialize(payload, JsonOptions)).ConfigureAwait(false);
                return CliApp.ExitOk;
            }

            var a = m.Architecture;
            var text = new StringBuilder();
            text.AppendLine(CultureInfo.InvariantCulture, $"checkpoint   {loaded.Directory} (verified: {m.Files.Count} files, SHA-256 ok)");
            text.AppendLine(CultureInfo.InvariantCulture, $"format       {m.Format} v{m.FormatVersion}, written {m.CreatedUtc:u}");
            text.AppendLine(CultureInfo.InvariantCulture, $"progress     step {m.Step}, epoch {m.Epoch}, {s.TokensSeen:N0} tokens, next lr {s.LearningRate:G4}");
            text.AppendLine(CultureInfo.InvariantCulture, $"validation   {(m.ValidLoss is { } v ? $"loss {v:F4}, perplexity {Math.Exp(v):F2}" : "not evaluated at this step")}; best so far {(s.BestValidLoss is { } b ? b.ToString("F4", CultureInfo.InvariantCulture) : "-")}");
            text.AppendLine(CultureInfo.InvariantCulture, $"model        {CellNames.ToConfigName(a.Cell)} x{a.Layers}, embedding {a.EmbeddingSize}, hidden {a.HiddenSize}, vocabulary {a.VocabularySize}{(a.TieWeights ? ", tied" : string.Empty)}: {parameters:N0} parameters");
            text.AppendLine(CultureInfo.InvariantCulture, $"vocabulary   sha256 {m.VocabularyHash}");
            foreach (var (name, hash) in m.Files.OrderBy(f => f.Key, StringComparer.Ordinal))
            {
                var size = new FileInfo(Path.Combine(loaded.Directory, name)).Length;
                text.AppendLine(CultureInfo.InvariantCulture, $"file         {name,-22} {size,12:N0} bytes  {hash[..16]}…");
            }

            await console.Out.WriteAsync(text.ToString()).ConfigureAwait(false);
            return CliApp.ExitOk;
        });
        return command;
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
}
