using RnnCluster.Model.Checkpoints;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Checkpoints;

/// <summary>
/// A damaged newest checkpoint (a flipped byte, a truncated file) never blocks a resume from a run
/// directory: the previous one that verifies is taken, with one warning naming the file; with none valid
/// the refusal names every one. A checkpoint named explicitly stays an error.
/// </summary>
public sealed class CheckpointFallbackTests : IDisposable
{
    private readonly TempDirectory _run = new();

    public void Dispose() => _run.Dispose();

    [Fact]
    public async Task A_flipped_byte_in_the_newest_checkpoint_makes_the_run_directory_load_the_previous_one_with_one_warning_naming_the_file()
    {
        var (older, newer) = await CommitTwoAsync();
        var model = Path.Combine(newer, "model.safetensors");
        CheckpointTampering.FlipOneByte(model, 40);

        var loaded = CheckpointReader.Load(_run.Path);

        Assert.Equal(older, loaded.Directory);
        Assert.Equal(100, loaded.TrainerState.Step);
        var warning = Assert.Single(loaded.Skipped);
        Assert.StartsWith($"{model} is corrupt: SHA-256 mismatch", warning, StringComparison.Ordinal);
        Assert.EndsWith("falling back to the previous committed checkpoint", warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_truncated_file_in_the_newest_checkpoint_is_passed_over_by_the_verified_search()
    {
        var (older, newer) = await CommitTwoAsync();
        var optimizer = Path.Combine(newer, "optimizer.safetensors");
        var bytes = await File.ReadAllBytesAsync(optimizer);
        await File.WriteAllBytesAsync(optimizer, bytes[..(bytes.Length / 2)]);
        var warnings = new List<string>();

        var found = CheckpointReader.FindNewestValid(_run.Path, warnings.Add);

        Assert.Equal(older, found);
        Assert.StartsWith($"{optimizer} is corrupt", Assert.Single(warnings), StringComparison.Ordinal);
        Assert.Equal(older, CheckpointReader.Load(_run.Path).Directory);
    }

    [Fact]
    public async Task When_no_checkpoint_verifies_the_run_directory_is_refused_naming_each_damaged_file()
    {
        var (older, newer) = await CommitTwoAsync();
        CheckpointTampering.FlipOneByte(Path.Combine(newer, "trainer.json"), 3);
        await File.WriteAllTextAsync(Path.Combine(older, "vocab.json"), "{}");

        var load = Assert.Throws<CheckpointException>(() => CheckpointReader.Load(_run.Path));
        var find = Assert.Throws<CheckpointException>(() => CheckpointReader.FindNewestValid(_run.Path, _ => Assert.Fail("nothing verified, so nothing was passed over for it")));

        foreach (var message in new[] { load.Message, find.Message })
        {
            Assert.StartsWith($"run directory {_run.Path} has no valid checkpoint", message, StringComparison.Ordinal);
            Assert.Contains(Path.Combine(newer, "trainer.json") + " is corrupt", message, StringComparison.Ordinal);
            Assert.Contains(Path.Combine(older, "vocab.json") + " is corrupt", message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_damaged_checkpoint_named_explicitly_stays_an_error()
    {
        var (_, newer) = await CommitTwoAsync();
        CheckpointTampering.FlipOneByte(Path.Combine(newer, "model.safetensors"), 40);

        var ex = Assert.Throws<CheckpointException>(() => CheckpointReader.Load(newer));

        Assert.StartsWith($"{Path.Combine(newer, "model.safetensors")} is corrupt: SHA-256 mismatch", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_run_directory_without_committed_checkpoints_is_neither_found_nor_loaded()
    {
        CheckpointSamples.OpenStore(_run.Path);

        Assert.Null(CheckpointReader.FindNewestValid(_run.Path, _ => Assert.Fail("no checkpoint, nothing passed over")));
        Assert.StartsWith($"run directory {_run.Path} has no committed checkpoint", Assert.Throws<CheckpointException>(() => CheckpointReader.Load(_run.Path)).Message, StringComparison.Ordinal);
    }

    private async Task<(string Older, string Newer)> CommitTwoAsync()
    {
        var store = CheckpointSamples.OpenStore(_run.Path);
        var older = await store.CommitAsync(CheckpointSamples.Content(100), CancellationToken.None);
        var newer = await store.CommitAsync(CheckpointSamples.Content(200), CancellationToken.None);
        return (older.Directory, newer.Directory);
    }
}
