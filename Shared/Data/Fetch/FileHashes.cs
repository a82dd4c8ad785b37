using System.Security.Cryptography;

namespace RnnCluster.Data.Fetch;

/// <summary>SHA-256 of files as lower-case hex, the form manifests and the catalogue record.</summary>
public static class FileHashes
{
    public static string Sha256(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
