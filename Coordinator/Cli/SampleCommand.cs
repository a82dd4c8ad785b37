using System.CommandLine;
using RnnCluster.Data;
using RnnCluster.Training;

namespace RnnCluster.Coordinator.Cli;

/// <summary><c>rnncluster sample</c>: continue a prime text by sampling (temperature, top-k) or beam search.</summary>
internal static class SampleCommand
{
    public static Command Create(CliConsole console)
    {
        var checkpoint = new Option<DirectoryInfo>("--checkpoint") { Description = "checkpoint directory, or a run directory (its newest checkpoint)", Required = true };
        var prime = new Option<string>("--prime") { Description = "text to start from (default: the start of a line)", DefaultValueFactory = _ => string.Empty };
        var length = new Option<int>("--length") { Description = "tokens to generate", DefaultValueFactory = _ => 50 };
        var temperature = new Option<double>("--temperature") { Description = "softmax temperature (> 0); lower is more conservative", DefaultValueFactory = _ => 1.0 };
        var topK = new Option<int>("--top-k") { Description = "sample among the k most likely tokens only (0 = all)", DefaultValueFactory = _ => 0 };
        var beam = new Option<int>("--beam") { Description = "beam width; > 1 runs beam search instead of sampling", DefaultValueFactory = _ => 1 };
        var seed = new Option<ulong>("--seed") { Description = "seed of the sampler", DefaultValueFactory = _ => 1UL };
        var command = new Command("sample", "Generate text from a trained language model.")
        {
            checkpoint, prime, length, temperature, topK, beam, seed,
        };
        command.SetAction(async (parse, ct) =>
        {
            var options = new GenerationOptions
            {
                Length = parse.GetValue(length),
                Temperature = parse.GetValue(temperature),
                TopK = parse.GetValue(topK),
                Beam = parse.GetValue(beam),
                Seed = parse.GetValue(seed),
            };
            if (options.Length < 1 || options.Temperature <= 0 || options.TopK < 0 || options.Beam < 1)
            {
                throw new CliUsageException("--length and --beam must be >= 1, --temperature > 0 and --top-k >= 0");
            }

            using var trained = TrainedModel.Load(parse.GetValue(checkpoint)!.FullName);
            foreach (var skipped in trained.Checkpoint.Skipped)
            {
                await console.Error.WriteLineAsync($"warning: {skipped}").ConfigureAwait(false);
            }

            var text = parse.GetValue(prime) ?? string.Empty;
            var ids = TextGenerator.Generate(trained.Model, trained.Vocabulary, text, options);
            var separator = trained.Vocabulary.Tokenizer == TextTokenizer.Word && text.Length > 0 && !text.EndsWith('\n') ? " " : string.Empty;
            await console.Out.WriteLineAsync(text + separator + Tokenizer.Decode(ids.ToArray(), trained.Vocabulary).TrimEnd()).ConfigureAwait(false);
            return CliApp.ExitOk;
        });
        return command;
    }
}
