using System.Formats.Tar;
using System.IO.Compression;

namespace RnnCluster.Data.Fetch;

/// <summary>
/// Extracts part of a gzip-compressed tar archive (an npm tarball). A tarball with any entry that is
/// rooted or climbs out with ".." is refused as a whole, and every target path is checked to lie
/// inside the destination, so a hostile package cannot write outside it. Only regular files and
/// directories are extracted; links and devices are skipped (packages of data never need them).
/// </summary>
public static class TarballExtractor
{
    /// <param name="include">Only entries whose path starts with this are extracted.</param>
    /// <param name="suffix">When not null, only files whose path also ends with this.</param>
    /// <returns>The number of files written.</returns>
    public static int Extract(string tarball, string destination, string include, string? suffix, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tarball);
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(include);
        Directory.CreateDirectory(destination);
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(destination)) + Path.DirectorySeparatorChar;
        var files = 0;
        try
        {
            using var stream = new FileStream(tarball, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            using var gzip = new GZipStream(stream, CompressionMode.Decompress);
            using var reader = new TarReader(gzip);
            while (reader.GetNextEntry() is { } entry)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var name = entry.Name.Replace('\\', '/');
                if (name.StartsWith('/') || Path.IsPathRooted(name) || name.Split('/').Contains(".."))
                {
                    throw new DataException($"{tarball}: entry '{entry.Name}' would be written outside the extraction directory; the tarball is refused");
                }

                if (!name.StartsWith(include, StringComparison.Ordinal))
                {
                    continue;
                }

                var target = Path.GetFullPath(Path.Combine(root, name));
                if (!target.StartsWith(root, StringComparison.Ordinal))
                {
                    throw new DataException($"{tarball}: entry '{entry.Name}' resolves to {target}, outside {root}; the tarball is refused");
                }

                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                        Directory.CreateDirectory(target);
                        break;
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile
                        when suffix is null || name.EndsWith(suffix, StringComparison.Ordinal):
                        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                        using (var output = new FileStream(target, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
                        {
                            entry.DataStream?.CopyTo(output);
                        }

                        files++;
                        break;
                    default:
                        break;
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
        {
            throw new DataException($"{tarball}: not a readable gzip-compressed tar archive ({e.Message})", e);
        }

        if (files == 0)
        {
            throw new DataException($"{tarball}: no files under '{include}'{(suffix is null ? string.Empty : $" ending with '{suffix}'")} in the tarball");
        }

        return files;
    }
}
