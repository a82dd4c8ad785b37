using RnnCluster.Model.Checkpoints;

using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Checkpoints;

public sealed class CheckpointVerificationTests : IDisposable
{
    private readonly TempDirectory _run = new();

    public void Dispose() => _run.Dispose();

    [Theory]
    [InlineData("model.safetensors")]
    [InlineData("optimizer.safetensors")]
    [InlineData("trainer.json")]
    [InlineData("vocab.json")]
    [InlineData("config.hocon")]
    public async Task Flipping_one_byte_of_a_listed_file_is_reported_as_corruption_of_that_file(string fileName)
    {
        var checkpoint = await CommitOneAsync();
        var path = Path.Combine(checkpoint, fileName);
        var expected = CheckpointCommitTests.Sha256(path);
        CheckpointTampering.FlipOneByte(path, (int)new FileInfo(path).Length - 2);
        var found = CheckpointCommitTests.Sha256(path);

        var ex = Assert.Throws<CheckpointException>(() => CheckpointReader.Load(checkpoint));

        Assert.Equal($"{path} is corrupt: SHA-256 mismatch (expected {expected[..12]}…, found {found[..12]}…).", ex.Message);
    }

    [Theory]
    [InlineData("manifest.json", 20)]
    [InlineData("COMMITTED", 0)]
    public async Task Flipping_one_byte_of_the_manifest_or_the_marker_is_reported_naming_both(string fileName, int index)
    {
        var checkpoint = await CommitOneAsync();
        CheckpointTampering.FlipOneByte(Path.Combine(checkpoint, fileName), index);

        var ex = Assert.Throws<CheckpointException>(() => CheckpointReader.Load(checkpoint));

        Assert.StartsWith($"{Path.Combine(checkpoint, "manifest.json")} is corrupt: its SHA-256 ", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith($"recorded in {Path.Combine(checkpoint, "COMMITTED")}.", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_newer_format_version_is_refused_naming_both_versions()
    {
        var checkpoint = await CommitOneAsync();
        CheckpointTampering.EditManifest(checkpoint, "formatVersion", 2);

        var ex = Assert.Throws<CheckpointException>(() => CheckpointReader.Load(checkpoint));

        Assert.Equal($"checkpoint {Path.Combine(checkpoint, "manifest.json")} has format version 2, but this build reads up to version 1; upgrade RnnCluster.", ex.Message);
    }

    [Fact]
    public async Task A_foreign_format_name_is_refused()
    {
        var checkpoint = await CommitOneAsync();
        CheckpointTampering.EditManifest(checkpoint, "format", "something-else");

        var ex = Assert.Throws<CheckpointException>(() => CheckpointReader.Load(checkpoint));

        Assert.Equal($"{Path.Combine(checkpoint, "manifest.json")} has format \"something-else\", not \"rnncluster-checkpoint\": it is not an RnnCluster checkpoint.", ex.Message);
    }

    [Fact]
    public async Task A_listed_file_that_is_missing_is_named()
    {
        var checkpoint = await CommitOneAsync();
        File.Delete(Path.Combine(checkpoint, "optimizer.safetensors"));

        var ex = Assert.Throws<CheckpointException>(() => CheckpointReader.Load(checkpoint));

        Assert.Equal($"{Path.Combine(checkpoint, "optimizer.safetensors")} is missing: the manifest lists it.", ex.Message);
    }

    [Fact]
    public async Task Malformed_trainer_json_is_reported_with_its_line_and_json_path()
    {
        var checkpoint = await CommitOneAsync();
        CheckpointTampering.ReplaceAndReseal(checkpoint, "trainer.json", "{\n  \"step\": 500,\n  \"epoch\": \"one\"\n}");

        var ex = Assert.Throws<CheckpointException>(() => CheckpointReader.Load(checkpoint));

        Assert.StartsWith($"{Path.Combine(checkpoint, "trainer.json")} is malformed at line 3, JSON path $.epoch: ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_manifest_listing_a_path_outside_the_checkpoint_is_refused()
    {
        var checkpoint = await CommitOneAsync();
        var files = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, "manifest.json")))!["files"]!.AsObject().DeepClone().AsObject();
        files["../escape"] = "00";
        CheckpointTampering.EditManifest(checkpoint, "files", files);

        var ex = Assert.Throws<CheckpointException>(() => CheckpointReader.Load(checkpoint));

        Assert.Equal($"{Path.Combine(checkpoint, "manifest.json")} lists the file \"../escape\", which is not a plain file name.", ex.Message);
    }

    [Fact]
    public void A_missing_directory_is_reported()
    {
        var missing = _run.Combine("checkpoints", "step-000000042");

        var ex = Assert.Throws<CheckpointException>(() => CheckpointReader.Load(missing));

        Assert.Equal($"checkpoint directory {missing} does not exist.", ex.Message);
    }

    private async Task<string> CommitOneAsync()
    {
        var store = CheckpointSamples.OpenStore(_run.Path);
        return (await store.CommitAsync(CheckpointSamples.Content(500), CancellationToken.None)).Directory;
    }
}
