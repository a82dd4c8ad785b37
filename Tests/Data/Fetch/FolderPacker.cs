using System.Formats.Tar;
using System.IO.Compression;
using RnnCluster.Data.Fetch;

namespace RnnCluster.Tests.Data.Fetch;

/// <summary>A packer that tars a local folder under "package/", as npm does, and counts its calls; no network, no npm.</summary>
internal sealed class FolderPacker(string folder) : IPackagePacker
{
    public int Calls { get; private set; }

    public string? LastSpec { get; private set; }

    public Task<string> PackAsync(string packageSpec, string destinationDirectory, CancellationToken cancellationToken)
    {
        Calls++;
        LastSpec = packageSpec;
        Directory.CreateDirectory(destinationDirectory);
        var tarball = Path.Combine(destinationDirectory, "package.tgz");
        Write(folder, tarball);
        return Task.FromResult(tarball);
    }

    public static void Write(string folder, string tarball, params (string Name, string Text)[] extraEntries)
    {
        using var file = File.Create(tarball);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var writer = new TarWriter(gzip, TarEntryFormat.Pax);
        foreach (var path in Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            writer.WriteEntry(path, "package/" + Path.GetRelativePath(folder, path).Replace('\\', '/'));
        }

        foreach (var (name, text) in extraEntries)
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)) };
            writer.WriteEntry(entry);
        }
    }
}
