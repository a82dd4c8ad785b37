using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace RnnCluster.DataPlane.Tensors;

/// <summary>
/// A one-way ring of tensor bytes in shared memory between two processes on one host: the sender copies a
/// payload in and sends only where it lies (<see cref="SharedSlice"/>) over the connection; the receiver
/// copies it out and marks it consumed, which frees the space. The kernel's two socket copies, the
/// chunking and the reassembly of the bytes are skipped; the connection still carries every header, in order.
/// </summary>
/// <remarks>
/// <para>
/// The file is made in a directory of shared memory (<c>/dev/shm</c>), opened, and deleted at once, so no
/// crash, <c>kill -9</c> included, leaves one behind: the peer opens it through the creator's
/// <c>/proc/PID/fd/N</c> link. That also confines it to peers that share the creator's process and
/// memory namespaces and user (the file is 0600). A random cookie, written into the file and offered over
/// the authenticated connection, proves the peer opened the creator's ring and not another host's or
/// another process's file at the same path.
/// </para>
/// <para>
/// Positions count bytes since the ring was made; a payload lies at <c>position % capacity</c> and never
/// wraps (the sender skips the tail that is too short). The receiver consumes in the order sent, so one
/// counter, written by the receiver and read by the sender, says what is free. Only the counter is shared
/// state; its writes are ordered against the payload's by the socket's system calls between them.
/// </para>
/// <para>
/// A page of a memory file system that cannot be had when it is first written kills the process (SIGBUS),
/// so nothing is written to the file before it is allocated: its header page when it is made, and the
/// payload area (<see cref="TryReserve"/>) before the first payload, which a full <c>/dev/shm</c> (a
/// container's is 64 MB by default) refuses, and the connection stays on the socket.
/// </para>
/// </remarks>
public sealed unsafe partial class SharedRing : IDisposable
{
    /// <summary>Where the payload area starts: after a page of header.</summary>
    private const int DataOffset = 4096;
    private const int CookieOffset = 8;
    private const int CapacityOffset = 24;
    private const int ConsumedOffset = 64;
    private const int CookieBytes = 16;
    private const string FilePrefix = "rnncluster-ring-";
    private const long Magic = 0x3147_4E49_524E_4E52; // "RNNRING1", little-endian

    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private FileStream? _stream; // the creator's descriptor, which /proc/PID/fd/N names
    private long _head;     // sender: the next free position
    private long _consumed; // receiver: what it has consumed
    private bool _reserved;
    private int _disposed;

    private SharedRing(MemoryMappedFile file, MemoryMappedViewAccessor view, long capacity, byte[] cookie, string path)
    {
        _file = file;
        _view = view;
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _base = pointer + view.PointerOffset;
        Capacity = capacity;
        Cookie = cookie;
        Path = path;
    }

    /// <summary>Smallest ring: a few of the 32 KiB payloads worth sending this way.</summary>
    public const long MinCapacity = 256 * 1024;

    /// <summary>Largest ring: positions within a ring are ints.</summary>
    public const long MaxCapacity = 1L << 30;

    /// <summary>Payload bytes the ring holds.</summary>
    public long Capacity { get; }

    /// <summary>The random bytes that identify this ring.</summary>
    public byte[] Cookie { get; }

    /// <summary>Where the peer opens it (<c>/proc/PID/fd/N</c> of the creator).</summary>
    public string Path { get; }

    /// <summary>Makes a ring of <paramref name="capacity"/> bytes for sending, in <paramref name="directory"/>.</summary>
    /// <exception cref="IOException">The directory cannot hold it (missing, read-only, full).</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable.</exception>
    public static SharedRing Create(string directory, long capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, MinCapacity);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, MaxCapacity);
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("shared-memory rings are opened through /proc, which only Linux has");
        }

        var cookie = RandomNumberGenerator.GetBytes(CookieBytes);
        var name = System.IO.Path.Combine(directory, $"{FilePrefix}{Environment.ProcessId}-{Convert.ToHexString(cookie)}");
        var stream = new FileStream(name, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.ReadWrite,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        try
        {
            File.Delete(name); // the open descriptor keeps it; nothing is left behind whatever happens to this process
            stream.SetLength(DataOffset + capacity);
            var fd = (int)stream.SafeFileHandle.DangerousGetHandle();
            var error = PosixFallocate(fd, 0, DataOffset);
            if (error != 0)
            {
                throw new IOException($"{directory} has no room for a ring's header (error {error})");
            }

            var path = $"/proc/{Environment.ProcessId}/fd/{fd}";
            var file = MemoryMappedFile.CreateFromFile(stream, null, DataOffset + capacity, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: true);
            var ring = new SharedRing(file, file.CreateViewAccessor(0, DataOffset + capacity), capacity, cookie, path) { _stream = stream };
            *(long*)ring._base = Magic;
            cookie.CopyTo(new Span<byte>(ring._base + CookieOffset, CookieBytes));
            *(long*)(ring._base + CapacityOffset) = capacity;
            return ring;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Opens the peer's ring for receiving; checks that it is the ring the peer offered.</summary>
    /// <exception cref="InvalidDataException">The file is not the offered ring (another cookie, size or format).</exception>
    /// <exception cref="IOException">It cannot be opened (another host, another namespace, gone).</exception>
    /// <exception cref="UnauthorizedAccessException">Another user's.</exception>
    public static SharedRing Open(string path, ReadOnlySpan<byte> cookie, long capacity)
    {
        if (capacity is < MinCapacity or > MaxCapacity || cookie.Length != CookieBytes)
        {
            throw new InvalidDataException($"an offer of a {capacity}-byte ring with a {cookie.Length}-byte cookie");
        }

        // Only a ring's file is opened: the link names the deleted file, and opening anything else (a FIFO would block) is not tried.
        var target = File.ResolveLinkTarget(path, returnFinalTarget: false)?.FullName ?? "";
        if (!System.IO.Path.GetFileName(target).StartsWith(FilePrefix, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"'{path}' leads to '{target}', not to a ring's file");
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        if (stream.Length != DataOffset + capacity)
        {
            throw new InvalidDataException($"'{path}' holds {stream.Length} bytes, not the {DataOffset + capacity} of the offered ring");
        }

        var file = MemoryMappedFile.CreateFromFile(stream, null, DataOffset + capacity, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
        var ring = new SharedRing(file, file.CreateViewAccessor(0, DataOffset + capacity), capacity, cookie.ToArray(), path);
        if (*(long*)ring._base != Magic || !new ReadOnlySpan<byte>(ring._base + CookieOffset, CookieBytes).SequenceEqual(cookie)
            || *(long*)(ring._base + CapacityOffset) != capacity)
        {
            ring.Dispose();
            throw new InvalidDataException($"'{path}' is not the offered ring (another cookie): the peer is on another host or in another namespace");
        }

        return ring;
    }

    // Returns 0 or the error number (not through errno).
    [LibraryImport("libc", EntryPoint = "posix_fallocate")]
    private static partial int PosixFallocate(int fd, long offset, long length);

    private ref long ConsumedCounter => ref *(long*)(_base + ConsumedOffset);

    /// <summary>
    /// Sender, before the first payload: allocates the payload area (posix_fallocate), so no write into it can
    /// find the memory file system full. False when it is full: the ring must not be used.
    /// </summary>
    public bool TryReserve(out string? reason)
    {
        reason = null;
        if (_reserved)
        {
            return true;
        }

        var fd = (int)(_stream ?? throw new InvalidOperationException("only the ring's creator writes payloads")).SafeFileHandle.DangerousGetHandle();
        var error = PosixFallocate(fd, DataOffset, Capacity);
        if (error != 0)
        {
            reason = $"its {Capacity} bytes could not be allocated (error {error}: the memory file system is full)";
            return false;
        }

        _reserved = true;
        return true;
    }

    /// <summary>
    /// Sender: copies <paramref name="bytes"/> in and returns where they lie, or false when the receiver has
    /// not yet consumed enough to make room (the caller then sends them inline).
    /// </summary>
    public bool TryWrite(ReadOnlySpan<byte> bytes, out long start)
    {
        start = 0;
        if (bytes.Length > Capacity || !_reserved)
        {
            return false;
        }

        var position = _head;
        var offset = position % Capacity;
        if (offset + bytes.Length > Capacity)
        {
            position += Capacity - offset; // never split a payload: start it at the beginning
            offset = 0;
        }

        // Room unless the unconsumed bytes (from the receiver's counter to the new end, a skipped tail included)
        // would span more than the ring; an empty ring has room for anything it can hold.
        var consumed = Volatile.Read(ref ConsumedCounter);
        if (consumed != _head && position + bytes.Length - consumed > Capacity)
        {
            return false;
        }

        bytes.CopyTo(new Span<byte>(_base + DataOffset + offset, bytes.Length));
        _head = position + bytes.Length;
        start = position;
        return true;
    }

    /// <summary>
    /// Receiver: copies the <paramref name="destination"/>.Length bytes at <paramref name="start"/> out and
    /// frees them. Slices must come in the order they were written.
    /// </summary>
    /// <exception cref="FormatException">The slice is not the next one the sender could have written.</exception>
    public void ReadAndRelease(long start, Span<byte> destination)
    {
        var length = destination.Length;
        var tail = _consumed % Capacity;
        var offset = start % Capacity;
        // The next slice starts where the last ended, or at the ring's start when it did not fit the tail.
        var next = start == _consumed || (tail != 0 && start == _consumed + Capacity - tail);
        if (!next || length > Capacity || offset + length > Capacity)
        {
            throw new FormatException($"a slice of shared memory at {start} ({length} bytes) that is not the next one after {_consumed} in a ring of {Capacity}");
        }

        new ReadOnlySpan<byte>(_base + DataOffset + offset, length).CopyTo(destination);
        _consumed = start + length;
        Volatile.Write(ref ConsumedCounter, _consumed);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
        _stream?.Dispose();
    }
}
