using RnnCluster.Model.Checkpoints;

using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Checkpoints;

public sealed class CheckpointRetentionTests : IDisposable
{
    private readonly TempDirectory _run = new();

    public void Dispose() => _run.Dispose();

    [Fact]
    public async Task Retention_keeps_the_last_K_plus_the_best_and_never_deletes_the_best()
    {
        var store = CheckpointSamples.OpenStore(_run.Path, keepLast: 2);
        double?[] losses = [5.0, 3.0, 4.0, null, 3.5, 3.0];
        var results = new List<CommittedCheckpoint>();
        for (var i = 0; i < losses.Length; i++)
        {
            results.Add(await store.CommitAsync(CheckpointSamples.Content((i + 1) * 100, losses[i]), CancellationToken.None));
        }

        Assert.Equal([true, true, false, false, false, false], results.Select(r => r.IsBest));
        Assert.Equal(["BEST", "step-000000200", "step-000000500", "step-000000600"], Entries(store));
        Assert.Equal(_run.Combine("checkpoints", "step-000000200"), CheckpointStore.FindBest(_run.Path));
        Assert.Equal("step-000000200\n", await File.ReadAllTextAsync(_run.Combine("checkpoints", "BEST")));
        Assert.Equal([[], [], [_run.Combine("checkpoints", "step-000000100")], [], [_run.Combine("checkpoints", "step-000000300")], [_run.Combine("checkpoints", "step-000000400")]], results.Select(r => r.Pruned));
        Assert.Equal(3.0, CheckpointReader.Load(CheckpointStore.FindBest(_run.Path)!).Manifest.ValidLoss);
    }

    [Fact]
    public async Task A_reopened_store_remembers_the_best_loss_so_a_worse_one_does_not_replace_it()
    {
        var first = CheckpointSamples.OpenStore(_run.Path, keepLast: 1);
        await first.CommitAsync(CheckpointSamples.Content(100, 2.0), CancellationToken.None);

        var reopened = CheckpointSamples.OpenStore(_run.Path, keepLast: 1);
        Assert.Equal(2.0, reopened.BestValidLoss);
        var worse = await reopened.CommitAsync(CheckpointSamples.Content(200, 2.5), CancellationToken.None);
        var better = await reopened.CommitAsync(CheckpointSamples.Content(300, 1.5), CancellationToken.None);

        Assert.False(worse.IsBest);
        Assert.True(better.IsBest);
        Assert.Equal(1.5, reopened.BestValidLoss);
        Assert.Equal(["BEST", "step-000000300"], Entries(reopened));
    }

    [Fact]
    public async Task Without_keep_best_only_the_last_K_survive()
    {
        var store = CheckpointSamples.OpenStore(_run.Path, keepLast: 1, keepBest: false);
        await store.CommitAsync(CheckpointSamples.Content(100, 1.0), CancellationToken.None);
        await store.CommitAsync(CheckpointSamples.Content(200, 9.0), CancellationToken.None);

        Assert.Equal(["BEST", "step-000000200"], Entries(store));
        Assert.Null(CheckpointStore.FindBest(_run.Path));
    }

    [Fact]
    public async Task A_damaged_kept_checkpoint_is_reported_does_not_count_toward_keep_last_and_the_older_valid_one_survives()
    {
        var store = CheckpointSamples.OpenStore(_run.Path, keepLast: 2, keepBest: false);
        await store.CommitAsync(CheckpointSamples.Content(100), CancellationToken.None);
        var damaged = await store.CommitAsync(CheckpointSamples.Content(200), CancellationToken.None);
        CheckpointTampering.FlipOneByte(Path.Combine(damaged.Directory, "model.safetensors"), 40);

        var third = await store.CommitAsync(CheckpointSamples.Content(300), CancellationToken.None);

        // Without re-verification step 100 would go, leaving one valid checkpoint where two were promised.
        Assert.Empty(third.Pruned);
        Assert.Equal([damaged.Directory], third.Corrupt);
        Assert.Equal(["step-000000100", "step-000000200", "step-000000300"], Entries(store));
        CheckpointReader.Load(_run.Combine("checkpoints", "step-000000100"));

        // Two newer valid ones exist now: the damaged one and the oldest age out together.
        var fourth = await store.CommitAsync(CheckpointSamples.Content(400), CancellationToken.None);
        Assert.Equal([_run.Combine("checkpoints", "step-000000100"), damaged.Directory], fourth.Pruned);
        Assert.Empty(fourth.Corrupt);
        Assert.Equal(["step-000000300", "step-000000400"], Entries(store));
    }

    [Fact]
    public void A_damaged_newest_checkpoint_keeps_the_previous_valid_one_and_nothing_is_deleted_while_too_few_verify()
    {
        (long, string)[] committed = [(100, "a"), (200, "b"), (300, "c")];
        var asked = new List<string>();

        var (delete, damaged) = CheckpointRetention.SelectForDeletion(committed, keepLast: 1, alwaysKeep: ["c"], p => { asked.Add(p); return p != "c"; });
        Assert.Equal(["a"], delete);
        Assert.Equal(["c"], damaged);
        Assert.Equal(["c", "b"], asked);

        var (none, allDamaged) = CheckpointRetention.SelectForDeletion(committed, keepLast: 2, alwaysKeep: ["c"], p => p == "a");
        Assert.Empty(none);
        Assert.Equal(["c", "b"], allDamaged);
    }

    private static string[] Entries(CheckpointStore store) =>
        [.. Directory.GetFileSystemEntries(store.CheckpointsDirectory).Select(e => Path.GetFileName(e)!).Order(StringComparer.Ordinal)];
}
