using RnnCluster.Data;
using RnnCluster.Model;
using RnnCluster.Model.Checkpoints;

using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Checkpoints;

public sealed class CheckpointCompatibilityTests : IDisposable
{
    private readonly TempDirectory _run = new();

    public void Dispose() => _run.Dispose();

    [Fact]
    public async Task A_checkpoint_of_the_same_architecture_and_vocabulary_is_compatible()
    {
        var loaded = await CommitAndLoadAsync();

        CheckpointCompatibility.EnsureCompatible(loaded.Manifest, CheckpointSamples.Architecture, CheckpointSamples.VocabularyHashValue, loaded.Directory);
    }

    [Fact]
    public async Task Every_differing_architecture_field_and_the_vocabulary_are_listed_in_one_message()
    {
        var loaded = await CommitAndLoadAsync();
        var expected = CheckpointSamples.Architecture with { Cell = CellKind.Gru, HiddenSize = 650, VocabularySize = 6 };
        var otherHash = VocabularyHash.Compute([.. CheckpointSamples.Tokens, "dog"]);

        var ex = Assert.Throws<CheckpointException>(() =>
            CheckpointCompatibility.EnsureCompatible(loaded.Manifest, expected, otherHash, loaded.Directory));

        Assert.Equal(
            $"checkpoint {loaded.Directory} does not match this run (checkpoint vs expected): " +
            "cell: lstm vs gru; hidden-size: 3 vs 650; vocabulary-size: 5 vs 6; " +
            $"vocabulary: hash {CheckpointSamples.VocabularyHashValue[..12]}… vs {otherHash[..12]}… (5 vs 6 tokens).",
            ex.Message);
    }

    [Fact]
    public async Task A_different_vocabulary_of_the_same_size_is_still_refused()
    {
        var loaded = await CommitAndLoadAsync();
        var otherHash = VocabularyHash.Compute(["<unk>", "<eos>", "a", "dog", "ran"]);

        var ex = Assert.Throws<CheckpointException>(() =>
            CheckpointCompatibility.EnsureCompatible(loaded.Manifest, CheckpointSamples.Architecture, otherHash, loaded.Directory));

        Assert.EndsWith($"(checkpoint vs expected): vocabulary: hash {CheckpointSamples.VocabularyHashValue[..12]}… vs {otherHash[..12]}… (5 vs 5 tokens).", ex.Message, StringComparison.Ordinal);
    }

    private async Task<LoadedCheckpoint> CommitAndLoadAsync()
    {
        var store = CheckpointSamples.OpenStore(_run.Path);
        await store.CommitAsync(CheckpointSamples.Content(500), CancellationToken.None);
        return CheckpointReader.Load(_run.Path);
    }
}
