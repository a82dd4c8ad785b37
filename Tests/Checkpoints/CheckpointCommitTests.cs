using System.Security.Cryptography;
using System.Text.Json;
using RnnCluster.Model.Checkpoints;

using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Checkpoints;

public sealed class CheckpointCommitTests : IDisposable
{
    private readonly TempDirectory _run = new();

    public void Dispose() => _run.Dispose();

    [Fact]
    public async Task A_commit_creates_exactly_the_listed_files_and_the_COMMITTED_marker()
    {
        var store = CheckpointSamples.OpenStore(_run.Path);

        var committed = await store.CommitAsync(CheckpointSamples.Content(500), CancellationToken.None);

        Assert.Equal(_run.Combine("checkpoints", "step-000000500"), committed.Directory);
        Assert.Equal(500, committed.Step);
        Assert.False(committed.IsBest);
        Assert.Equal(
            ["COMMITTED", "config.hocon", "manifest.json", "model.safetensors", "optimizer.safetensors", "trainer.json", "vocab.json"],
            Directory.GetFiles(committed.Directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(["step-000000500"], Directory.GetFileSystemEntries(store.CheckpointsDirectory).Select(Path.GetFileName));
    }

    [Fact]
    public async Task The_manifest_records_the_run_identity_and_the_hash_of_every_file()
    {
        var store = CheckpointSamples.OpenStore(_run.Path);
        var committed = await store.CommitAsync(CheckpointSamples.Content(500, validLoss: 4.25), CancellationToken.None);
        var manifestBytes = await File.ReadAllBytesAsync(Path.Combine(committed.Directory, "manifest.json"));

        using var manifest = JsonDocument.Parse(manifestBytes);
        var root = manifest.RootElement;
        Assert.Equal("rnncluster-checkpoint", root.GetProperty("format").GetString());
        Assert.Equal(1, root.GetProperty("formatVersion").GetInt32());
        Assert.Equal("2025-03-04T05:06:07+00:00", root.GetProperty("createdUtc").GetString());
        Assert.Equal(500, root.GetProperty("step").GetInt64());
        Assert.Equal(1, root.GetProperty("epoch").GetInt32());
        var architecture = root.GetProperty("architecture");
        Assert.Equal(
            ["cell=\"lstm\"", "layers=2", "embeddingSize=4", "hiddenSize=3", "vocabularySize=5", "tieWeights=false"],
            architecture.EnumerateObject().Select(p => $"{p.Name}={p.Value.GetRawText()}"));
        Assert.Equal(CheckpointSamples.VocabularyHashValue, root.GetProperty("vocabularyHash").GetString());
        Assert.Equal(4.25, root.GetProperty("validLoss").GetDouble());
        var files = root.GetProperty("files").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        Assert.Equal(["model.safetensors", "optimizer.safetensors", "trainer.json", "vocab.json", "config.hocon"], files.Keys);
        foreach (var (name, hash) in files)
        {
            Assert.Equal(Sha256(Path.Combine(committed.Directory, name)), hash);
        }

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(manifestBytes)) + "\n", await File.ReadAllTextAsync(Path.Combine(committed.Directory, "COMMITTED")));
        Assert.Contains("\n  \"step\": 500,", await File.ReadAllTextAsync(Path.Combine(committed.Directory, "manifest.json")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_loaded_checkpoint_holds_exactly_what_was_committed()
    {
        var store = CheckpointSamples.OpenStore(_run.Path);
        var content = CheckpointSamples.Content(500, validLoss: 4.25);
        var committed = await store.CommitAsync(content, CancellationToken.None);

        var loaded = CheckpointReader.Load(committed.Directory);

        Assert.Equal(committed.Directory, loaded.Directory);
        Assert.Equal(500, loaded.Manifest.Step);
        Assert.Equal(CheckpointSamples.Architecture, loaded.Manifest.Architecture);
        Assert.Equal(4.25, loaded.Manifest.ValidLoss);
        Assert.Equal(CheckpointSamples.Now, loaded.Manifest.CreatedUtc);
        Assert.Equal(content.ModelTensors.Select(t => t.Name), loaded.ModelTensors.Select(t => t.Name));
        Assert.Equal(content.ModelTensors[0].ToFloats(), loaded.ModelTensors[0].ToFloats());
        Assert.Equal(content.ModelTensors[1].Shape, loaded.ModelTensors[1].Shape);
        Assert.Equal(content.OptimizerTensors[0].Data.ToArray(), loaded.OptimizerTensors[0].Data.ToArray());
        Assert.Equal(content.OptimizerTensors[1].Data.ToArray(), loaded.OptimizerTensors[1].Data.ToArray());
        Assert.Equal(content.State with { DataRandomState = loaded.TrainerState.DataRandomState }, loaded.TrainerState);
        Assert.Equal([1UL, 2UL, ulong.MaxValue, 4UL], loaded.TrainerState.DataRandomState);
        Assert.Equal(CheckpointSamples.VocabularyJson, loaded.VocabularyJson);
        Assert.Equal(CheckpointSamples.ConfigText, loaded.ConfigText);
    }

    [Fact]
    public async Task The_model_file_carries_the_pytorch_format_tag_and_the_step_as_metadata()
    {
        var store = CheckpointSamples.OpenStore(_run.Path);
        var committed = await store.CommitAsync(CheckpointSamples.Content(500), CancellationToken.None);

        var model = SafeTensors.Read(Path.Combine(committed.Directory, "model.safetensors"));

        Assert.Equal("pt", model.Metadata["format"]);
        Assert.Equal("500", model.Metadata["step"]);
    }

    [Fact]
    public async Task Loading_a_run_directory_picks_its_newest_committed_checkpoint()
    {
        var store = CheckpointSamples.OpenStore(_run.Path);
        await store.CommitAsync(CheckpointSamples.Content(100), CancellationToken.None);
        await store.CommitAsync(CheckpointSamples.Content(1000), CancellationToken.None);
        await store.CommitAsync(CheckpointSamples.Content(200), CancellationToken.None);

        var loaded = CheckpointReader.Load(_run.Path);

        Assert.Equal(1000, loaded.Manifest.Step);
        Assert.Equal(_run.Combine("checkpoints", "step-000001000"), CheckpointStore.FindLatest(_run.Path));
    }

    [Fact]
    public async Task Committing_a_step_that_is_already_committed_is_refused_and_the_original_is_kept()
    {
        var store = CheckpointSamples.OpenStore(_run.Path);
        var first = await store.CommitAsync(CheckpointSamples.Content(500), CancellationToken.None);
        var before = Sha256(Path.Combine(first.Directory, "manifest.json"));

        var ex = await Assert.ThrowsAsync<CheckpointException>(() => store.CommitAsync(CheckpointSamples.Content(500, validLoss: 1), CancellationToken.None));

        Assert.Equal($"checkpoint {first.Directory} already exists and is committed; refusing to overwrite it.", ex.Message);
        Assert.Equal(before, Sha256(Path.Combine(first.Directory, "manifest.json")));
        Assert.Equal(["step-000000500"], Directory.GetFileSystemEntries(store.CheckpointsDirectory).Select(Path.GetFileName));
    }

    [Fact]
    public void A_run_without_checkpoints_has_no_latest_and_no_best()
    {
        Assert.Null(CheckpointStore.FindLatest(_run.Path));
        Assert.Null(CheckpointStore.FindBest(_run.Path));
        var ex = Assert.Throws<CheckpointException>(() => CheckpointReader.Load(_run.Path));
        Assert.Equal($"{_run.Path} is neither a checkpoint directory (step-NNNNNNNNN with a manifest.json) nor a run directory (with a checkpoints folder).", ex.Message);
    }

    internal static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
}
