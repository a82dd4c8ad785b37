using System.Collections.Concurrent;
using System.Reflection;
using System.Security.Cryptography;

namespace RnnCluster.Monitoring;

/// <summary>
/// The dashboard's files, embedded in an assembly as resources named <c>dashboard/&lt;path&gt;</c> (never read
/// from disk: what is served is what was built and tested). Each is read once and kept with its entity tag,
/// a hash of its bytes, so a browser revalidates with <c>If-None-Match</c> and gets a 304.
/// </summary>
public sealed class DashboardAssets
{
    public const string Prefix = "dashboard/";

    private readonly Assembly _assembly;
    private readonly ConcurrentDictionary<string, DashboardAsset?> _cache = new(StringComparer.Ordinal);

    public DashboardAssets(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        _assembly = assembly;
    }

    /// <summary>The assets built into RnnCluster.Shared (Monitoring/Dashboard/).</summary>
    public static DashboardAssets Embedded { get; } = new(typeof(DashboardAssets).Assembly);

    /// <summary>The asset at <paramref name="path"/> (relative, '/'-separated), or null when there is none.</summary>
    public DashboardAsset? Find(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0 || path.Split('/').Any(segment => segment is "" or "." or ".."))
        {
            return null;
        }

        return _cache.GetOrAdd(path, Load);
    }

    private DashboardAsset? Load(string path)
    {
        using var stream = _assembly.GetManifestResourceStream(Prefix + path);
        if (stream is null)
        {
            return null;
        }

        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        var bytes = copy.ToArray();
        var tag = "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes).AsSpan(0, 16)) + "\"";
        return new DashboardAsset(bytes, ContentType(path), tag);
    }

    /// <summary>The media type of a file the dashboard is made of; anything else is served as bytes.</summary>
    public static string ContentType(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".txt" => "text/plain; charset=utf-8",
        ".json" => "application/json",
        _ => "application/octet-stream",
    };
}

/// <summary>One embedded file: its bytes, media type and strong entity tag.</summary>
public sealed record DashboardAsset(byte[] Content, string ContentType, string ETag);
