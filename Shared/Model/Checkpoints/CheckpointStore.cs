using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace RnnCluster.Model.Checkpoints;

/// <summary>
/// Writes a run's checkpoints so that a crash at any instant leaves either the previous set of
/// checkpoints or the previous set plus a complete new one, never a half-written one that a resume
/// would pick. The protocol: write every file into a <c>.tmp-</c> directory and fsync it, write the
/// manifest with the files' hashes, rename the directory to <c>step-NNNNNNNNN</c>, then write the
/// <c>COMMITTED</c> marker (the manifest's hash) and fsync the directories. Only after that are the
/// best pointer and retention touched. One commit at a time per store.
/// </summary>
public sealed class CheckpointStore
{
    private readonly CheckpointStoreOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private int _committing;
    private string? _bestDirectory;
    private double? _bestValidLoss;

    private CheckpointStore(string runDirectory, CheckpointStoreOptions options, TimeProvider timeProvider, ILogger logger)
    {
        RunDirectory = Path.GetFullPath(runDirectory);
        CheckpointsDirectory = CheckpointLayout.CheckpointsDirectory(runDirectory);
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public string RunDirectory { get; }

    public string CheckpointsDirectory { get; }

    /// <summary>Leftovers of interrupted writes that <see cref="Open"/> deleted (full paths).</summary>
    public IReadOnlyList<string> RemovedOnOpen { get; private set; } = [];

    /// <summary>The best committed checkpoint, or null when none has a validation loss yet.</summary>
    public string? BestDirectory => _bestDirectory;

    public double? BestValidLoss => _bestValidLoss;

    /// <summary>
    /// Opens (creating if needed) the checkpoints of <paramref name="runDirectory"/> and removes what
    /// crashed writes left behind: <c>.tmp-*</c> directories and step directories without a complete
    /// marker. Committed checkpoints are never touched here.
    /// </summary>
    public static CheckpointStore Open(string runDirectory, CheckpointStoreOptions options, TimeProvider timeProvider, ILogger<CheckpointStore>? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(runDirectory);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.KeepLast, 1, nameof(options));

        var store = new CheckpointStore(runDirectory, options, timeProvider, logger ?? (ILogger)NullLogger.Instance);
        try
        {
            Directory.CreateDirectory(store.CheckpointsDirectory);
            store.RemovedOnOpen = store.RemoveUnfinished();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"could not open checkpoint directory {store.CheckpointsDirectory}: {ex.Message}", ex);
        }

        store.LoadBest();
        return store;
    }

    /// <summary>The newest committed checkpoint directory of a run, or null when it has none.</summary>
    public static string? FindLatest(string runDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(runDirectory);
        var committed = CheckpointLayout.Committed(CheckpointLayout.CheckpointsDirectory(runDirectory));
        return committed.Count == 0 ? null : committed[^1].Path;
    }

    /// <summary>The committed checkpoint the run's <c>BEST</c> pointer names, or null when there is none.</summary>
    public static string? FindBest(string runDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(runDirectory);
        return CheckpointLayout.ReadBest(CheckpointLayout.CheckpointsDirectory(runDirectory));
    }

    /// <summary>
    /// Writes and commits <paramref name="content"/> as <c>step-NNNNNNNNN</c>. A failure or cancellation
    /// before the commit point removes the partial directory and leaves every earlier checkpoint as it
    /// was; I/O failures surface as <see cref="CheckpointException"/>.
    /// </summary>
    public async Task<CommittedCheckpoint> CommitAsync(CheckpointContent content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        content.Validate();
        if (Interlocked.Exchange(ref _committing, 1) != 0)
        {
            // Two commits at once would race on BEST and retention; the caller awaits one before the next.
            throw new InvalidOperationException("A checkpoint commit is already in progress on this store.");
        }

        try
        {
            var directory = await WriteAndCommitAsync(content, cancellationToken).ConfigureAwait(false);
            var (isBest, pruned, corrupt) = AfterCommit(directory, content.Step, content.ValidLoss);
            CheckpointLog.Committed(_logger, directory, content.Step, isBest);
            return new CommittedCheckpoint(directory, content.Step, isBest, pruned) { Corrupt = corrupt };
        }
        finally
        {
            Volatile.Write(ref _committing, 0);
        }
    }

    private async Task<string> WriteAndCommitAsync(CheckpointContent content, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var name = CheckpointLayout.DirectoryName(content.Step);
        var final = Path.Combine(CheckpointsDirectory, name);

        // The suffix only has to differ from a crashed attempt's leftovers; it is not training randomness.
        var temp = Path.Combine(CheckpointsDirectory, $"{CheckpointLayout.TempPrefix}{name}-{RandomNumberGenerator.GetHexString(8, lowercase: true)}");
        var moved = false;
        WarnIfShortOfSpace(content);
        try
        {
            Directory.CreateDirectory(temp);
            Reach(CheckpointPhase.Started, content.Step);
            var manifestHash = await WriteFilesAsync(temp, content, cancellationToken).ConfigureAwait(false);
            DurableFile.FlushDirectory(temp);

            // Last point where cancellation is honoured: from the rename on, finishing is quicker than undoing.
            cancellationToken.ThrowIfCancellationRequested();
            if (_options.Fence > 0)
            {
                // A writer that lost the run to a newer one commits nothing (its temporary directory goes).
                RunFence.EnsureOwner(RunDirectory, _options.Fence);
            }

            if (Directory.Exists(final))
            {
                if (CheckpointLayout.IsCommitted(final) && Verifies(final))
                {
                    throw new CheckpointException($"checkpoint {final} already exists and is committed; refusing to overwrite it.");
                }

                if (CheckpointLayout.IsCommitted(final))
                {
                    // Damaged, so the run resumed from an older one and trained this step again: the new one
                    // takes the name, the damaged one is set aside (not deleted) for whoever investigates.
                    var aside = $"{final}{CheckpointLayout.DamagedSuffix}{RandomNumberGenerator.GetHexString(8, lowercase: true)}";
                    Directory.Move(final, aside);
                    CheckpointLog.SetAside(_logger, final, aside);
                }
                else
                {
                    Directory.Delete(final, recursive: true);
                    CheckpointLog.RemovedUnfinished(_logger, final);
                }
            }

            Directory.Move(temp, final);
            moved = true;
            Reach(CheckpointPhase.Renamed, content.Step);
            await WriteFileAsync(Path.Combine(final, CheckpointLayout.CommittedMarker), DurableFile.Utf8(manifestHash + "\n"), CancellationToken.None).ConfigureAwait(false);
            DurableFile.FlushDirectory(final);
            DurableFile.FlushDirectory(CheckpointsDirectory);
            Reach(CheckpointPhase.Committed, content.Step);
            return final;
        }
        catch (Exception ex)
        {
            Abandon(moved ? final : temp);
            if (ex is IOException or UnauthorizedAccessException)
            {
                throw new CheckpointException($"could not write checkpoint {final}: {ex.Message}", ex);
            }

            throw;
        }
    }

    /// <summary>Writes every file of the checkpoint plus the manifest into <paramref name="directory"/>; returns the manifest's hash.</summary>
    private async Task<string> WriteFilesAsync(string directory, CheckpointContent content, CancellationToken cancellationToken)
    {
        var stepText = content.Step.ToString(System.Globalization.CultureInfo.InvariantCulture);

        // "format": "pt" is what PyTorch's own save_file writes; some loaders check for it.
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { ["format"] = "pt", ["step"] = stepText };
        var files = new Dictionary<string, string>(StringComparer.Ordinal);

        var holdMidway = _options.Hold?.Matches(CheckpointPhase.MidTensor, content.Step) == true;
        files[CheckpointLayout.ModelFile] = await WriteFileAsync(
            Path.Combine(directory, CheckpointLayout.ModelFile),
            (s, ct) => SafeTensors.WriteAsync(s, content.ModelTensors, metadata, ct),
            cancellationToken,
            holdMidway ? () => Reach(CheckpointPhase.MidTensor, content.Step) : null).ConfigureAwait(false);
        files[CheckpointLayout.OptimizerFile] = await WriteFileAsync(
            Path.Combine(directory, CheckpointLayout.OptimizerFile),
            (s, ct) => SafeTensors.WriteAsync(s, content.OptimizerTensors, metadata, ct),
            cancellationToken).ConfigureAwait(false);
        files[CheckpointLayout.TrainerFile] = await WriteFileAsync(
            Path.Combine(directory, CheckpointLayout.TrainerFile),
            (s, ct) => JsonSerializer.SerializeAsync(s, content.State, CheckpointJsonContext.Default.TrainerState, ct),
            cancellationToken).ConfigureAwait(false);
        files[CheckpointLayout.VocabularyFile] = await WriteFileAsync(
            Path.Combine(directory, CheckpointLayout.VocabularyFile), DurableFile.Utf8(content.VocabularyJson), cancellationToken).ConfigureAwait(false);
        files[CheckpointLayout.ConfigFile] = await WriteFileAsync(
            Path.Combine(directory, CheckpointLayout.ConfigFile), DurableFile.Utf8(content.ConfigText), cancellationToken).ConfigureAwait(false);

        var manifest = new CheckpointManifest
        {
            Format = CheckpointManifest.FormatName,
            FormatVersion = CheckpointManifest.CurrentFormatVersion,
            CreatedUtc = _timeProvider.GetUtcNow(),
            Step = content.Step,
            Epoch = content.Epoch,
            Architecture = content.Architecture,
            VocabularyHash = content.VocabularyHash,
            ValidLoss = content.ValidLoss,
            Fence = _options.Fence,
            Files = files,
        };
        var manifestBytes = JsonSerializer.SerializeToUtf8Bytes(manifest, CheckpointJsonContext.Default.CheckpointManifest);
        return await WriteFileAsync(Path.Combine(directory, CheckpointLayout.ManifestFile), manifestBytes, cancellationToken).ConfigureAwait(false);
    }

    private static Task<string> WriteFileAsync(string path, byte[] bytes, CancellationToken cancellationToken) =>
        WriteFileAsync(path, (s, ct) => s.WriteAsync(bytes, ct).AsTask(), cancellationToken);

    /// <summary>
    /// Creates <paramref name="path"/>, lets <paramref name="write"/> fill it, fsyncs it and returns the SHA-256 of what was written.
    /// <paramref name="midway"/> (test-only) runs once the header and first tensor slice are on disk.
    /// </summary>
    private static async Task<string> WriteFileAsync(string path, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken, Action? midway = null)
    {
        var file = DurableFile.CreateNew(path);
        var hashing = new HashingWriteStream(file);
        await using (hashing.ConfigureAwait(false))
        {
            Stream target = midway is null ? hashing : new WriteTripStream(hashing, 2, () =>
            {
                hashing.Flush();
                file.Flush(flushToDisk: true);
                midway();
            });
            await write(target, cancellationToken).ConfigureAwait(false);
            await hashing.FlushAsync(cancellationToken).ConfigureAwait(false);
            file.Flush(flushToDisk: true);
            return hashing.HashHex();
        }
    }

    /// <summary>Best-effort removal of a failed attempt; whatever stays is uncommitted and removed at the next open.</summary>
    private void Abandon(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            CheckpointLog.AbandonFailed(_logger, directory, ex);
        }
    }

    /// <summary>Updates the best pointer and applies retention; the checkpoint is already durable, so failures here are logged, not thrown.</summary>
    private (bool IsBest, IReadOnlyList<string> Pruned, IReadOnlyList<string> Corrupt) AfterCommit(string directory, long step, double? validLoss)
    {
        var isBest = validLoss is double loss && !double.IsNaN(loss) && (_bestValidLoss is not double best || loss < best);
        var pruned = new List<string>();
        var corrupt = new List<string>();
        try
        {
            if (isBest)
            {
                DurableFile.ReplaceAtomically(Path.Combine(CheckpointsDirectory, CheckpointLayout.BestPointer), Path.GetFileName(directory) + "\n");
                _bestDirectory = directory;
                _bestValidLoss = validLoss;
            }

            var alwaysKeep = new List<string> { directory };
            if (_options.KeepBest && _bestDirectory is not null)
            {
                alwaysKeep.Add(_bestDirectory);
            }

            // Nothing older goes while the ones kept are not proven whole: a kept checkpoint that fails
            // verification is reported, left for inspection, and does not count toward keep-last.
            var (victims, damaged) = CheckpointRetention.SelectForDeletion(CheckpointLayout.Committed(CheckpointsDirectory), _options.KeepLast, alwaysKeep, IsIntact);
            corrupt.AddRange(damaged);
            foreach (var victim in victims)
            {
                // Un-commit first: if the deletion is interrupted, the remains are an uncommitted
                // directory that the next open removes, never a committed one with files missing.
                File.Delete(Path.Combine(victim, CheckpointLayout.CommittedMarker));
                if (_options.Hold?.Matches(CheckpointPhase.Pruning, step) == true)
                {
                    File.Delete(Path.Combine(victim, CheckpointLayout.ModelFile));
                    Reach(CheckpointPhase.Pruning, step);
                }

                Directory.Delete(victim, recursive: true);
                pruned.Add(victim);
                CheckpointLog.Pruned(_logger, victim);
            }

            if (pruned.Count > 0)
            {
                DurableFile.FlushDirectory(CheckpointsDirectory);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            CheckpointLog.HousekeepingFailed(_logger, directory, ex);
        }

        return (isBest, pruned, corrupt);
    }

    /// <summary>
    /// Says so before writing when the checkpoint's bytes exceed the free space: the write is still tried
    /// (a compressing file system may fit it), and its real failure is what the run acts on.
    /// </summary>
    private void WarnIfShortOfSpace(CheckpointContent content)
    {
        var needed = content.ModelTensors.Sum(t => (long)t.Data.Length) + content.OptimizerTensors.Sum(t => (long)t.Data.Length)
            + content.VocabularyJson.Length + content.ConfigText.Length;
        long free;
        try
        {
            free = new DriveInfo(CheckpointsDirectory).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return;
        }

        if (free < needed)
        {
            CheckpointLog.ShortOfSpace(_logger, content.Step, needed, free, CheckpointsDirectory);
        }
    }

    private static bool Verifies(string directory)
    {
        try
        {
            CheckpointReader.Verify(directory);
            return true;
        }
        catch (CheckpointException)
        {
            return false;
        }
    }

    /// <summary>Whether a committed checkpoint still verifies whole (manifest and every file's hash); a failure is logged naming the file.</summary>
    private bool IsIntact(string directory)
    {
        try
        {
            CheckpointReader.Verify(directory);
            return true;
        }
        catch (CheckpointException ex)
        {
            CheckpointLog.KeptCheckpointDamaged(_logger, directory, ex.Message);
            return false;
        }
    }

    /// <summary>Test-only: at the phase <see cref="CheckpointStoreOptions.Hold"/> names, says so and blocks until the process is killed.</summary>
    private void Reach(CheckpointPhase phase, long step)
    {
        if (_options.Hold?.Matches(phase, step) != true)
        {
            return;
        }

        CheckpointLog.PhaseReached(_logger, CheckpointPhaseHold.Name(phase), step);
        Thread.Sleep(Timeout.Infinite);
    }

    private List<string> RemoveUnfinished()
    {
        var removed = new List<string>();
        foreach (var directory in Directory.EnumerateDirectories(CheckpointsDirectory))
        {
            var name = Path.GetFileName(directory);
            var unfinished = name.StartsWith(CheckpointLayout.TempPrefix, StringComparison.Ordinal)
                || (CheckpointLayout.TryParseStep(name, out _) && !CheckpointLayout.IsCommitted(directory));
            if (unfinished)
            {
                Directory.Delete(directory, recursive: true);
                removed.Add(directory);
                CheckpointLog.RemovedUnfinished(_logger, directory);
            }
        }

        var bestTemp = Path.Combine(CheckpointsDirectory, CheckpointLayout.BestPointer + ".tmp");
        if (File.Exists(bestTemp))
        {
            File.Delete(bestTemp);
            removed.Add(bestTemp);
            CheckpointLog.RemovedUnfinished(_logger, bestTemp);
        }

        if (removed.Count > 0)
        {
            DurableFile.FlushDirectory(CheckpointsDirectory);
        }

        return removed;
    }

    /// <summary>Recovers the recorded best loss from the manifest <c>BEST</c> points to.</summary>
    private void LoadBest()
    {
        var best = CheckpointLayout.ReadBest(CheckpointsDirectory);
        if (best is null)
        {
            return;
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(best, CheckpointLayout.ManifestFile)));
            _bestDirectory = best;
            _bestValidLoss = document.RootElement.TryGetProperty("validLoss", out var loss) && loss.ValueKind == JsonValueKind.Number
                ? loss.GetDouble()
                : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException)
        {
            CheckpointLog.BestUnreadable(_logger, best, ex);
        }
    }
}
