using RnnCluster.DataPlane.Tensors;

namespace RnnCluster.Tests.DataPlane.Tensors;

/// <summary>
/// The shared-memory ring on its own: what a sender writes a receiver reads back in order, the ring wraps
/// without splitting a payload, a full ring refuses rather than overwrites, a receiver refuses a slice that
/// is not the next one, and a file with another cookie is not taken for the ring.
/// </summary>
public sealed class SharedRingTests
{
    private const long Capacity = SharedRing.MinCapacity;

    [Fact]
    public void The_file_is_gone_from_the_directory_at_once_and_the_peer_opens_it_through_proc()
    {
        using var ring = SharedRing.Create("/dev/shm", Capacity);
        Assert.Matches(@"^/proc/\d+/fd/\d+$", ring.Path);
        Assert.DoesNotContain(Directory.GetFiles("/dev/shm"), f => f.Contains(Convert.ToHexString(ring.Cookie), StringComparison.Ordinal));
        using var peer = SharedRing.Open(ring.Path, ring.Cookie, Capacity);
        Assert.Equal(Capacity, peer.Capacity);
    }

    [Fact]
    public void Payloads_come_back_in_order_across_many_wraps_and_a_tail_too_short_is_skipped()
    {
        using var sender = Reserved(SharedRing.Create("/dev/shm", Capacity));
        using var receiver = SharedRing.Open(sender.Path, sender.Cookie, Capacity);
        var random = new Random(7);
        var lastEnd = 0L;
        for (var i = 0; i < 200; i++)
        {
            var bytes = new byte[random.Next(1, (int)(Capacity / 3))];
            random.NextBytes(bytes);
            Assert.True(sender.TryWrite(bytes, out var start));
            Assert.True(start == lastEnd || start % Capacity == 0, $"payload {i} at {start} after {lastEnd}");
            Assert.True((start % Capacity) + bytes.Length <= Capacity, "a payload never wraps");
            var back = new byte[bytes.Length];
            receiver.ReadAndRelease(start, back);
            Assert.Equal(bytes, back);
            lastEnd = start + bytes.Length;
        }
    }

    [Fact]
    public void A_full_ring_refuses_a_payload_until_the_receiver_frees_room_and_never_overwrites_unread_bytes()
    {
        using var sender = Reserved(SharedRing.Create("/dev/shm", Capacity));
        using var receiver = SharedRing.Open(sender.Path, sender.Cookie, Capacity);
        var first = Filled((int)(Capacity / 2), 1);
        var second = Filled((int)(Capacity / 2) - 8, 2);
        Assert.True(sender.TryWrite(first, out var at1));
        Assert.True(sender.TryWrite(second, out var at2));
        Assert.False(sender.TryWrite(Filled(64, 3), out _)); // 8 bytes left: too few
        Assert.False(sender.TryWrite(new byte[Capacity + 1], out _)); // larger than the ring: never

        var back = new byte[first.Length];
        receiver.ReadAndRelease(at1, back);
        Assert.Equal(first, back);
        // The tail after the second payload is 8 bytes: the third starts over at the ring's start, where the first was.
        Assert.True(sender.TryWrite(Filled(1000, 3), out var at3));
        Assert.Equal(0, at3 % Capacity);
        var unread = new byte[second.Length];
        receiver.ReadAndRelease(at2, unread);
        Assert.Equal(second, unread);
        var third = new byte[1000];
        receiver.ReadAndRelease(at3, third);
        Assert.Equal(Filled(1000, 3), third);
    }

    [Fact]
    public void A_receiver_refuses_a_slice_that_is_not_the_next_one()
    {
        using var sender = Reserved(SharedRing.Create("/dev/shm", Capacity));
        using var receiver = SharedRing.Open(sender.Path, sender.Cookie, Capacity);
        Assert.True(sender.TryWrite(Filled(100, 1), out _));
        Assert.True(sender.TryWrite(Filled(100, 2), out var second));
        var e = Assert.Throws<FormatException>(() => receiver.ReadAndRelease(second, new byte[100])); // skips the first
        Assert.Contains("not the next one", e.Message, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => receiver.ReadAndRelease(0, new byte[Capacity + 4])); // longer than the ring
        Assert.Throws<FormatException>(() => receiver.ReadAndRelease(-8, new byte[8]));
    }

    [Fact]
    public void A_file_with_another_cookie_or_size_is_not_the_offered_ring()
    {
        using var ring = SharedRing.Create("/dev/shm", Capacity);
        var other = (byte[])ring.Cookie.Clone();
        other[0] ^= 1;
        Assert.Contains("another cookie", Assert.Throws<InvalidDataException>(() => SharedRing.Open(ring.Path, other, Capacity)).Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => SharedRing.Open(ring.Path, ring.Cookie, Capacity * 2));
        Assert.Throws<InvalidDataException>(() => SharedRing.Open(ring.Path, ring.Cookie.AsSpan(0, 8), Capacity));
        var gone = Record.Exception(() => SharedRing.Open($"/proc/{Environment.ProcessId}/fd/999999", ring.Cookie, Capacity));
        Assert.True(gone is IOException or InvalidDataException, $"a descriptor that does not exist: {gone}");
    }

    /// <summary>A descriptor that leads to anything but a ring's file (a FIFO would block the opener) is not opened.</summary>
    [Fact]
    public void A_descriptor_of_another_file_is_not_opened_as_a_ring()
    {
        var other = Path.GetTempFileName();
        try
        {
            using var stream = new FileStream(other, FileMode.Open, FileAccess.ReadWrite);
            var path = $"/proc/{Environment.ProcessId}/fd/{stream.SafeFileHandle.DangerousGetHandle()}";
            var e = Assert.Throws<InvalidDataException>(() => SharedRing.Open(path, new byte[16], Capacity));
            Assert.Contains("not to a ring's file", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(other);
        }
    }

    /// <summary>
    /// Nothing is written into the payload area before it is allocated (a write into a page a full memory file
    /// system cannot give is a SIGBUS); only the creator allocates and writes.
    /// </summary>
    [Fact]
    public void A_ring_takes_no_payload_before_its_memory_is_reserved_and_only_its_creator_reserves_it()
    {
        using var sender = SharedRing.Create("/dev/shm", Capacity);
        Assert.False(sender.TryWrite(Filled(100, 1), out _));
        Assert.True(sender.TryReserve(out var reason), reason);
        Assert.True(sender.TryReserve(out _));
        Assert.True(sender.TryWrite(Filled(100, 1), out _));
        using var receiver = SharedRing.Open(sender.Path, sender.Cookie, Capacity);
        Assert.Throws<InvalidOperationException>(() => receiver.TryReserve(out _));
    }

    private static SharedRing Reserved(SharedRing ring)
    {
        Assert.True(ring.TryReserve(out var reason), reason);
        return ring;
    }

    private static byte[] Filled(int length, byte value) => Enumerable.Repeat(value, length).ToArray();
}
