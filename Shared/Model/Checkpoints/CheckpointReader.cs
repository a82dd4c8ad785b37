using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace RnnCluster.Model.Checkpoints;

/// <summary>
/// Loads a checkpoint after proving it whole: committed, manifest matching its marker, a format this
/// build understands, and every file matching its hash. Each refusal is one
/// <see cref="CheckpointException"/> that names the file and says what to do.
/// </summary>
public static class CheckpointReader
{
    /// <summary>
    /// Loads <paramref name="path"/>: a <c>step-NNNNNNNNN</c> checkpoint directory (damage is an error: it was
    /// named), or a run directory: then its newest committed checkpoint that verifies, older ones taking the
    /// place of damaged newer ones (each skipped one is in <see cref="LoadedCheckpoint.Skipped"/>).
    /// </summary>
    public static LoadedCheckpoint Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        if (!IsRunDirectory(full))
        {
            return LoadDirectory(ResolveCheckpointDirectory(full));
        }

        var committed = CheckpointLayout.Committed(CheckpointLayout.CheckpointsDirectory(full));
        if (committed.Count == 0)
        {
            throw new CheckpointException($"run directory {full} has no committed checkpoint in {CheckpointLayout.CheckpointsDirectory(full)}.");
        }

        var skipped = new List<string>();
        foreach (var (_, directory) in Enumerable.Reverse(committed))
        {
            try
            {
                var loaded = LoadDirectory(directory);
                return skipped.Count == 0 ? loaded : loaded.WithSkipped([.. skipped.Select(Skipping)]);
            }
            catch (CheckpointException ex)
            {
                skipped.Add(ex.Message);
            }
        }

        throw NoValid(full, skipped);
    }

    /// <summary>
    /// The newest committed checkpoint of <paramref name="runDirectory"/> that verifies whole (marker, manifest,
    /// every file's hash), or null when the run has none committed. Each newer damaged one is reported to
    /// <paramref name="skipped"/> in one sentence naming the file.
    /// </summary>
    /// <exception cref="CheckpointException">The run has committed checkpoints but none verifies.</exception>
    public static string? FindNewestValid(string runDirectory, Action<string> skipped)
    {
        ArgumentException.ThrowIfNullOrEmpty(runDirectory);
        ArgumentNullException.ThrowIfNull(skipped);
        var full = Path.GetFullPath(runDirectory);
        var committed = CheckpointLayout.Committed(CheckpointLayout.CheckpointsDirectory(full));
        if (committed.Count == 0)
        {
            return null;
        }

        var reasons = new List<string>();
        foreach (var (_, directory) in Enumerable.Reverse(committed))
        {
            try
            {
                Verify(directory);
                foreach (var reason in reasons)
                {
                    skipped(Skipping(reason));
                }

                return directory;
            }
            catch (CheckpointException ex)
            {
                reasons.Add(ex.Message);
            }
        }

        throw NoValid(full, reasons);
    }

    /// <summary>Proves a checkpoint whole without parsing it: committed, manifest matching its marker, a known format, every file matching its hash.</summary>
    /// <exception cref="CheckpointException">The first thing wrong, naming the file.</exception>
    public static CheckpointManifest Verify(string checkpointDirectory)
    {
        var manifest = ReadManifest(checkpointDirectory);
        var directory = Path.GetFullPath(checkpointDirectory);
        foreach (var (name, expected) in manifest.Files)
        {
            VerifyHash(Path.Combine(directory, name), expected);
        }

        return manifest;
    }

    private static LoadedCheckpoint LoadDirectory(string directory)
    {
        var manifest = ReadVerifiedManifest(directory);

        // Hashes are checked before anything is parsed, so a flipped byte is reported as corruption of
        // that file rather than as whatever parse error it happens to cause.
        foreach (var (name, expected) in manifest.Files)
        {
            VerifyHash(Path.Combine(directory, name), expected);
        }

        try
        {
            return new LoadedCheckpoint
            {
                Directory = directory,
                Manifest = manifest,
                ModelTensors = SafeTensors.Read(Path.Combine(directory, CheckpointLayout.ModelFile)).Tensors,
                OptimizerTensors = SafeTensors.Read(Path.Combine(directory, CheckpointLayout.OptimizerFile)).Tensors,
                TrainerState = ReadJson(Path.Combine(directory, CheckpointLayout.TrainerFile), CheckpointJsonContext.Default.TrainerState),
                VocabularyJson = File.ReadAllText(Path.Combine(directory, CheckpointLayout.VocabularyFile), Encoding.UTF8),
                ConfigText = File.ReadAllText(Path.Combine(directory, CheckpointLayout.ConfigFile), Encoding.UTF8),
            };
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"checkpoint {directory} could not be read: {ex.Message}", ex);
        }
    }

    /// <summary>The warning for a damaged checkpoint passed over; the reason names the file at fault.</summary>
    private static string Skipping(string reason) => $"{reason.TrimEnd('.')}; falling back to the previous committed checkpoint";

    private static CheckpointException NoValid(string runDirectory, List<string> reasons) =>
        new($"run directory {runDirectory} has no valid checkpoint: every committed one failed verification ({string.Join("; ", reasons.Select(r => r.TrimEnd('.')))}); delete or repair them, or start a new run in another directory.");

    /// <summary>A directory that is not itself a checkpoint but holds a run's checkpoints folder.</summary>
    private static bool IsRunDirectory(string full) =>
        Directory.Exists(full) && !LooksLikeCheckpoint(full) && Directory.Exists(CheckpointLayout.CheckpointsDirectory(full));

    private static bool LooksLikeCheckpoint(string full) =>
        CheckpointLayout.TryParseStep(Path.GetFileName(Path.TrimEndingDirectorySeparator(full)), out _)
            || File.Exists(Path.Combine(full, CheckpointLayout.ManifestFile))
            || File.Exists(Path.Combine(full, CheckpointLayout.CommittedMarker));

    /// <summary>Reads and verifies only the manifest of a checkpoint directory (committed, marker matches, format supported).</summary>
    public static CheckpointManifest ReadManifest(string checkpointDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(checkpointDirectory);
        var directory = Path.GetFullPath(checkpointDirectory);
        if (!Directory.Exists(directory))
        {
            throw new CheckpointException($"checkpoint directory {directory} does not exist.");
        }

        return ReadVerifiedManifest(directory);
    }

    private static string ResolveCheckpointDirectory(string path)
    {
        var full = Path.GetFullPath(path);
        if (!Directory.Exists(full))
        {
            throw new CheckpointException($"checkpoint directory {full} does not exist.");
        }

        if (LooksLikeCheckpoint(full))
        {
            return full;
        }

        if (Directory.Exists(CheckpointLayout.CheckpointsDirectory(full)))
        {
            return CheckpointStore.FindLatest(full)
                ?? throw new CheckpointException($"run directory {full} has no committed checkpoint in {CheckpointLayout.CheckpointsDirectory(full)}.");
        }

        throw new CheckpointException($"{full} is neither a checkpoint directory (step-NNNNNNNNN with a manifest.json) nor a run directory (with a checkpoints folder).");
    }

    private static CheckpointManifest ReadVerifiedManifest(string directory)
    {
        var markerPath = Path.Combine(directory, CheckpointLayout.CommittedMarker);
        if (!File.Exists(markerPath))
        {
            throw new CheckpointException($"checkpoint {directory} is not committed (no COMMITTED marker): it was being written when the run stopped.");
        }

        var marker = CheckpointLayout.ReadMarker(directory)
            ?? throw new CheckpointException($"checkpoint {directory} is not committed (its COMMITTED marker is incomplete): it was being written when the run stopped.");

        var manifestPath = Path.Combine(directory, CheckpointLayout.ManifestFile);
        byte[] manifestBytes;
        try
        {
            manifestBytes = File.ReadAllBytes(manifestPath);
        }
        catch (FileNotFoundException ex)
        {
            throw new CheckpointException($"{manifestPath} is missing although the checkpoint is committed.", ex);
        }

        var actual = Convert.ToHexStringLower(SHA256.HashData(manifestBytes));
        if (!string.Equals(actual, marker, StringComparison.Ordinal))
        {
            throw new CheckpointException($"{manifestPath} is corrupt: its SHA-256 {Abbreviate(actual)} differs from {Abbreviate(marker)} recorded in {markerPath}.");
        }

        CheckFormat(manifestBytes, manifestPath);
        var manifest = ReadJson(manifestBytes, manifestPath, CheckpointJsonContext.Default.CheckpointManifest);
        CheckListedFiles(manifest, manifestPath);
        return manifest;
    }

    /// <summary>Checks format name and version before the strict read, so a newer layout is reported as newer, not as malformed.</summary>
    private static void CheckFormat(byte[] manifestBytes, string manifestPath)
    {
        string? format;
        int version;
        try
        {
            using var document = JsonDocument.Parse(manifestBytes);
            var root = document.RootElement;
            format = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("format", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
            version = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("formatVersion", out var v) && v.TryGetInt32(out var n) ? n : -1;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            throw JsonProblem(manifestPath, ex as JsonException, ex);
        }

        if (format != CheckpointManifest.FormatName)
        {
            throw new CheckpointException($"{manifestPath} has format \"{format}\", not \"{CheckpointManifest.FormatName}\": it is not an RnnCluster checkpoint.");
        }

        if (version > CheckpointManifest.CurrentFormatVersion)
        {
            throw new CheckpointException($"checkpoint {manifestPath} has format version {version}, but this build reads up to version {CheckpointManifest.CurrentFormatVersion}; upgrade RnnCluster.");
        }

        if (version < 1)
        {
            throw new CheckpointException($"{manifestPath} has no valid formatVersion (a positive integer).");
        }
    }

    private static void CheckListedFiles(CheckpointManifest manifest, string manifestPath)
    {
        foreach (var name in manifest.Files.Keys)
        {
            // A manifest names files inside its own directory only; anything else could read outside it.
            if (name.Length == 0 || name != Path.GetFileName(name) || name is "." or ".." || name.Contains('\\', StringComparison.Ordinal))
            {
                throw new CheckpointException($"{manifestPath} lists the file \"{name}\", which is not a plain file name.");
            }
        }

        foreach (var required in CheckpointLayout.ListedFiles)
        {
            if (!manifest.Files.ContainsKey(required))
            {
                throw new CheckpointException($"{manifestPath} does not list {required}; every checkpoint has one.");
            }
        }
    }

    private static void VerifyHash(string path, string expected)
    {
        string actual;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
            actual = Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CheckpointException($"{path} is missing: the manifest lists it.", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"{path} could not be read: {ex.Message}", ex);
        }

        if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
        {
            throw new CheckpointException($"{path} is corrupt: SHA-256 mismatch (expected {Abbreviate(expected)}, found {Abbreviate(actual)}).");
        }
    }

    private static T ReadJson<T>(string path, JsonTypeInfo<T> typeInfo) => ReadJson(File.ReadAllBytes(path), path, typeInfo);

    private static T ReadJson<T>(byte[] bytes, string path, JsonTypeInfo<T> typeInfo)
    {
        try
        {
            return JsonSerializer.Deserialize(bytes, typeInfo)
                ?? throw new CheckpointException($"{path} holds JSON null instead of an object.");
        }
        catch (JsonException ex)
        {
            throw JsonProblem(path, ex, ex);
        }
    }

    private static CheckpointException JsonProblem(string path, JsonException? json, Exception inner)
    {
        var message = inner.Message;

        // System.Text.Json appends its own "Path: … | LineNumber: …" tail; we say it once, 1-based.
        var tail = message.IndexOf(" Path: ", StringComparison.Ordinal);
        if (tail > 0)
        {
            message = message[..tail];
        }

        var where = json switch
        {
            { LineNumber: long line, Path: string jsonPath } => $" at line {line + 1}, JSON path {jsonPath}",
            { LineNumber: long line } => $" at line {line + 1}",
            { Path: string jsonPath } => $" at JSON path {jsonPath}",
            _ => string.Empty,
        };
        return new CheckpointException($"{path} is malformed{where}: {message}", inner);
    }

    /// <summary>Twelve hex digits identify a hash to a person; the full value is in the files.</summary>
    internal static string Abbreviate(string hash) => hash.Length <= 12 ? hash : hash[..12] + "…";
}
