using RnnCluster.Model.Checkpoints;

using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Checkpoints;

/// <summary>What a crash or failure at any point of a commit leaves behind, and how the next run treats it.</summary>
public sealed class CheckpointCrashTests : IDisposable
{
    private readonly TempDirectory _run = new();

    public void Dispose() => _run.Dispose();

    [Fact]
    public async Task Leftovers_of_a_crashed_write_are_removed_at_open_and_never_found_as_latest()
    {
        var store = CheckpointSamples.OpenStore(_run.Path);
        var good = await store.CommitAsync(CheckpointSamples.Content(400), CancellationToken.None);
        var temp = _run.Combine("checkpoints", ".tmp-step-000000600-0123abcd");
        Directory.CreateDirectory(temp);
        await File.WriteAllTextAsync(Path.Combine(temp, "model.safetensors"), "partial");
        var uncommitted = await CopyWithoutMarkerAsync(good.Directory, _run.Combine("checkpoints", "step-000000500"));

        Assert.Equal(good.Directory, CheckpointStore.FindLatest(_run.Path));
        Assert.Equal(good.Directory, CheckpointReader.Load(_run.Path).Directory);

        var reopened = CheckpointSamples.OpenStore(_run.Path);

        Assert.Equal([temp, uncommitted], reopened.RemovedOnOpen.Order(StringComparer.Ordinal));
        Assert.Equal(["step-000000400"], Directory.GetFileSystemEntries(reopened.CheckpointsDirectory).Select(Path.GetFileName));
        Assert.Equal(good.Directory, CheckpointStore.FindLatest(_run.Path));
    }

    [Fact]
    public async Task Loading_an_uncommitted_checkpoint_is_refused_with_the_reason()
    {
        var store = CheckpointSamples.OpenStore(_run.Path);
        var good = await store.CommitAsync(CheckpointSamples.Content(400), CancellationToken.None);
        var uncommitted = await CopyWithoutMarkerAsync(good.Directory, _run.Combine("checkpoints", "step-000000500"));

        var ex = Assert.Throws<CheckpointException>(() => CheckpointReader.Load(uncommitted));

        Assert.Equal($"checkpoint {uncommitted} is not committed (no COMMITTED marker): it was being written when the run stopped.", ex.Message);
    }

    [Fact]
    public async Task A_marker_torn_by_a_crash_counts_as_uncommitted()
    {
        var store = CheckpointSamples.OpenStore(_run.Path);
        var older = await store.CommitAsync(CheckpointSamples.Content(400), CancellationToken.None);
        var torn = await store.CommitAsync(CheckpointSamples.Content(500), CancellationToken.None);
        await File.WriteAllTextAsync(Path.Combine(torn.Directory, "COMMITTED"), string.Empty);

        Assert.Equal(older.Directory, CheckpointStore.FindLatest(_run.Path));
        var reopened = CheckpointSamples.OpenStore(_run.Path);
        Assert.Equal([torn.Directory], reopened.RemovedOnOpen);
    }

    [Fact]
    public async Task A_write_failure_midway_leaves_the_previous_checkpoints_intact_and_loadable()
    {
        var store = CheckpointSamples.OpenStore(_run.Path);
        var previous = await store.CommitAsync(CheckpointSamples.Content(400, validLoss: 5), CancellationToken.None);
        var failing = new TrippingMemory(new byte[8], () => throw new IOException("No space left on device"));

        // The optimizer file is written after the model file, so the failure comes with a partial directory on disk.
        var ex = await Assert.ThrowsAsync<CheckpointException>(() =>
            store.CommitAsync(CheckpointSamples.Content(500, validLoss: 1, optimizerBytes: failing.Bytes), CancellationToken.None));

        Assert.Equal($"could not write checkpoint {_run.Combine("checkpoints", "step-000000500")}: No space left on device", ex.Message);
        AssertOnlyPrevious(store, previous);
    }

    [Fact]
    public async Task Cancellation_during_a_commit_leaves_the_previous_checkpoints_intact_and_loadable()
    {
        var store = CheckpointSamples.OpenStore(_run.Path);
        var previous = await store.CommitAsync(CheckpointSamples.Content(400, validLoss: 5), CancellationToken.None);
        using var shutdown = new CancellationTokenSource();
        var cancelling = new TrippingMemory(new byte[8], shutdown.Cancel);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            store.CommitAsync(CheckpointSamples.Content(500, validLoss: 1, optimizerBytes: cancelling.Bytes), shutdown.Token));

        AssertOnlyPrevious(store, previous);
        var next = await store.CommitAsync(CheckpointSamples.Content(500, validLoss: 1), CancellationToken.None);
        Assert.True(next.IsBest);
    }

    private static void AssertOnlyPrevious(CheckpointStore store, CommittedCheckpoint previous)
    {
        Assert.Equal(["BEST", "step-000000400"], Directory.GetFileSystemEntries(store.CheckpointsDirectory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(previous.Directory, CheckpointStore.FindLatest(store.RunDirectory));
        Assert.Equal(previous.Directory, CheckpointStore.FindBest(store.RunDirectory));
        Assert.Equal(5, store.BestValidLoss);
        Assert.Equal(400, CheckpointReader.Load(store.RunDirectory).Manifest.Step);
    }

    private static async Task<string> CopyWithoutMarkerAsync(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (var file in Directory.GetFiles(source).Where(f => Path.GetFileName(f) != "COMMITTED"))
        {
            await File.WriteAllBytesAsync(Path.Combine(destination, Path.GetFileName(file)), await File.ReadAllBytesAsync(file));
        }

        return destination;
    }
}
