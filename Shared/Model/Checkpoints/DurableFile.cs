using System.Runtime.InteropServices;
using System.Text;

namespace RnnCluster.Model.Checkpoints;

/// <summary>
/// The few file-system steps a crash-safe commit needs: exclusive creation, fsync of files and of
/// directories (so a rename survives power loss), and atomic replacement of a small file.
/// </summary>
internal static partial class DurableFile
{
    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>
    /// A new file opened for writing; fails if it exists, so two writers never share a file. Readers may open
    /// it meanwhile: .NET enforces a share mode of None with a lock that makes a reader's open throw, and a
    /// reader looking for the newest checkpoint (the run's own rollback, a standby, <c>info</c>) must see a
    /// marker being written as what it is, incomplete, not fail (found by a test: the rollback's lookup threw
    /// "being used by another process" while the background commit wrote the COMMITTED marker).
    /// </summary>
    public static FileStream CreateNew(string path) =>
        new(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.Read,
            BufferSize = 1 << 16,
        });

    public static byte[] Utf8(string text) => Utf8NoBom.GetBytes(text);

    /// <summary>Writes a small file, fsyncs it, then renames it over <paramref name="path"/> so readers see the old or the new content, never a mix.</summary>
    public static void ReplaceAtomically(string path, string text)
    {
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(Utf8(text));
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
        FlushDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>
    /// Makes the directory's entries (creations, renames, deletions) durable. Without it a crash after
    /// a rename can bring back the old name even though the files' contents were flushed.
    /// </summary>
    public static void FlushDirectory(string directory)
    {
        try
        {
            using var handle = File.OpenHandle(directory, FileMode.Open, FileAccess.Read);
            RandomAccess.FlushToDisk(handle);
        }
        catch (UnauthorizedAccessException) when (!OperatingSystem.IsWindows())
        {
            // .NET refuses to open a directory as a file handle on Unix, but POSIX fsync of a
            // directory descriptor is exactly what makes a rename durable, so go to libc directly.
            FlushDirectoryPosix(directory);
        }
        catch (UnauthorizedAccessException) when (OperatingSystem.IsWindows())
        {
            // Windows cannot open a directory without backup semantics and NTFS journals renames
            // itself; there is nothing more to flush, so this one refusal is ignored on purpose.
        }
    }

    private static void FlushDirectoryPosix(string directory)
    {
        // O_RDONLY opens a directory on every POSIX system; O_DIRECTORY is left out because its value
        // differs between architectures and the caller already knows this is a directory.
        const int ReadOnly = 0;
        var fd = Open(directory, ReadOnly);
        if (fd < 0)
        {
            throw new IOException($"Could not open directory {directory} to flush it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();

                // EINVAL: the file system cannot sync directories (some network and FUSE mounts);
                // the platform refuses, so there is no stronger guarantee to be had.
                const int EInval = 22;
                if (errno != EInval)
                {
                    throw new IOException($"Could not flush directory {directory} (errno {errno}).");
                }
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
