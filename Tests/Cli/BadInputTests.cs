using System.Security.Cryptography;
using System.Text;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Cli;

/// <summary>Each kind of bad input: one clear "error:" line naming the file, key or field, a non-zero exit, nothing half-written.</summary>
public sealed class BadInputTests
{
    [Fact]
    public async Task A_missing_data_file_is_named_and_no_run_directory_is_created()
    {
        using var dir = new TempDirectory();
        var missing = dir.Combine("nope.txt");
        var r = await CliRunner.RunAsync(["train", "--data", missing, "--run-dir", dir.Combine("run"), .. CliRunner.TinyModel]);
        AssertOneError(r, 1, missing);
        Assert.False(Directory.Exists(dir.Combine("run")));
    }

    [Fact]
    public async Task An_empty_corpus_is_named()
    {
        using var dir = new TempDirectory();
        var empty = dir.Combine("empty.txt");
        await File.WriteAllTextAsync(empty, "\n  \n");
        var r = await CliRunner.RunAsync(["train", "--data", empty, "--run-dir", dir.Combine("run"), .. CliRunner.TinyModel]);
        AssertOneError(r, 1, "empty.txt: the corpus is empty");
        Assert.False(Directory.Exists(dir.Combine("run")));
    }

    [Fact]
    public async Task An_unknown_config_key_names_the_key_and_file_line()
    {
        using var dir = new TempDirectory();
        var config = dir.Combine("bad.hocon");
        await File.WriteAllTextAsync(config, "model {\n  layers = 1\n  hiden-size = 32\n}\n");
        var r = await CliRunner.RunAsync("train", "--config", config, "--run-dir", dir.Combine("run"));
        AssertOneError(r, 2, "model.hiden-size");
        Assert.Contains("bad.hocon:3", r.Error, StringComparison.Ordinal);
        Assert.Contains("model.hidden-size", r.Error, StringComparison.Ordinal); // the suggestion
        Assert.False(Directory.Exists(dir.Combine("run")));
    }

    [Fact]
    public async Task A_value_of_the_wrong_type_names_the_key()
    {
        using var dir = new TempDirectory();
        var r = await CliRunner.RunAsync("train", "--set", "training.epochs=many", "--run-dir", dir.Combine("run"));
        AssertOneError(r, 2, "training.epochs");
        Assert.Contains("many", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_negative_learning_rate_is_refused()
    {
        using var dir = new TempDirectory();
        var r = await CliRunner.RunAsync("train", "--set", "training.learning-rate=-1", "--run-dir", dir.Combine("run"));
        AssertOneError(r, 2, "training.learning-rate = -1");
        Assert.Contains("must be greater than 0", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_checkpoint_that_does_not_exist_is_named()
    {
        using var dir = new TempDirectory();
        var r = await CliRunner.RunAsync("eval", "--checkpoint", dir.Combine("none"));
        AssertOneError(r, 1, dir.Combine("none"));
    }

    [Fact]
    public async Task A_corrupted_checkpoint_file_is_named_by_eval_info_and_resume()
    {
        using var dir = new TempDirectory();
        var checkpoint = await TrainTinyAsync(dir, "run");
        var model = Path.Combine(checkpoint, "model.safetensors");
        var bytes = await File.ReadAllBytesAsync(model);
        bytes[^3] ^= 0x40;
        await File.WriteAllBytesAsync(model, bytes);

        foreach (var args in new[] { new[] { "info", "--checkpoint", checkpoint }, ["eval", "--checkpoint", checkpoint], ["train", "--resume", checkpoint, .. CliRunner.TinyModel] })
        {
            var r = await CliRunner.RunAsync(args);
            AssertOneError(r, 1, "model.safetensors is corrupt: SHA-256 mismatch");
        }
    }

    [Fact]
    public async Task A_checkpoint_from_a_newer_format_is_refused_with_both_versions()
    {
        using var dir = new TempDirectory();
        var checkpoint = await TrainTinyAsync(dir, "run");
        var manifestPath = Path.Combine(checkpoint, "manifest.json");
        var manifest = (await File.ReadAllTextAsync(manifestPath)).Replace("\"formatVersion\": 1", "\"formatVersion\": 7", StringComparison.Ordinal);
        await File.WriteAllTextAsync(manifestPath, manifest, new UTF8Encoding(false));
        // Re-seal so the refusal is about the version, not about the hash.
        var hash = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(manifestPath)));
        await File.WriteAllTextAsync(Path.Combine(checkpoint, "COMMITTED"), hash);

        var r = await CliRunner.RunAsync("info", "--checkpoint", checkpoint);
        AssertOneError(r, 1, "format version 7");
        Assert.Contains("version 1", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resuming_with_another_architecture_lists_the_differing_fields()
    {
        using var dir = new TempDirectory();
        await TrainTinyAsync(dir, "run");
        var r = await CliRunner.RunAsync(["train", "--resume", dir.Combine("run"), .. CliRunner.TinyModel, "--set", "model.hidden-size=24", "--set", "model.cell=gru"]);
        AssertOneError(r, 1, "hidden-size: 16 vs 24");
        Assert.Contains("cell: lstm vs gru", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resuming_with_another_vocabulary_is_refused()
    {
        using var dir = new TempDirectory();
        await TrainTinyAsync(dir, "run");
        var r = await CliRunner.RunAsync(["train", "--resume", dir.Combine("run"), "--data", "builtin:parity", .. CliRunner.TinyModel]);
        AssertOneError(r, 1, "vocabulary: hash");
    }

    [Fact]
    public async Task Training_into_a_run_directory_that_holds_checkpoints_needs_resume()
    {
        using var dir = new TempDirectory();
        await TrainTinyAsync(dir, "run");
        var before = Directory.GetDirectories(dir.Combine("run", "checkpoints"));
        var r = await CliRunner.RunAsync(["train", "--run-dir", dir.Combine("run"), "--max-steps", "2", .. CliRunner.TinyModel]);
        AssertOneError(r, 1, "already holds checkpoints");
        Assert.Equal(before, Directory.GetDirectories(dir.Combine("run", "checkpoints")));
    }

    [Fact]
    public async Task An_unknown_option_is_a_usage_error()
    {
        var r = await CliRunner.RunAsync("train", "--learning-rate", "3");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--learning-rate", r.Error, StringComparison.Ordinal);
    }

    internal static async Task<string> TrainTinyAsync(TempDirectory dir, string name)
    {
        var r = await CliRunner.RunAsync(["train", "--run-dir", dir.Combine(name), "--max-steps", "3", .. CliRunner.TinyModel]);
        Assert.True(r.ExitCode == 0, r.ToString());
        return Directory.GetDirectories(dir.Combine(name, "checkpoints"), "step-*").Single();
    }

    private static void AssertOneError(CliResult r, int exitCode, string expected)
    {
        Assert.True(r.ExitCode == exitCode, r.ToString());
        var lines = r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, r.ToString());
        Assert.StartsWith("error: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Error, StringComparison.Ordinal);
    }
}
