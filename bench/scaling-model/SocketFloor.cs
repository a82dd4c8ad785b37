using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using RnnCluster.Common;

namespace RnnCluster.Bench.ScalingModel;

/// <summary>
/// A floor for the data plane's CPU: the same lone all-reduces of one bucket between two members in this
/// process, over one plain loopback TCP connection with no framing, no checksum, no authentication and no
/// async machinery. Each member reads on its own thread straight into its buffer (sums a contribution as
/// each chunk lands) while a sender thread of its own writes. What is left is the kernel's copies, the
/// sums and a few wake-ups per phase: about what a transport rewritten to read on its own thread could
/// cost. Not a transport (no faults, no timeouts); a measurement beside <see cref="BucketCosts"/>.
/// </summary>
internal static class SocketFloor
{
    private const int ChunkBytes = 1 << 20;

    public static BucketCosts Measure(IReadOnlyList<int> bucketFloats, long bytesPerPoint)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using var dialer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        dialer.Connect(listener.LocalEndPoint!);
        using var accepted = listener.Accept();
        accepted.NoDelay = true;
        var largest = bucketFloats.Max();
        using var a = new Member(0, dialer, largest);
        using var b = new Member(1, accepted, largest);

        (double Wall, double Cpu) Run(int floats, int repeats)
        {
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var started = Stopwatch.GetTimestamp();
            for (var i = 0; i < repeats; i++)
            {
                // Member 1 runs on a thread of its own (as it would in its own process); member 0 on this one.
                var other = b.StartAllReduce(floats);
                a.AllReduce(floats);
                other.Wait();
            }

            var wall = Stopwatch.GetElapsedTime(started).TotalMilliseconds / repeats;
            return (wall, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / repeats);
        }

        foreach (var floats in bucketFloats.Prepend(BucketCosts.SmallFloats))
        {
            var warming = Stopwatch.StartNew();
            while (warming.Elapsed < TimeSpan.FromSeconds(0.5))
            {
                Run(floats, 3);
            }
        }

        // Synchronous all the way: the task completes before it is returned.
        return BucketCosts.MedianOfRoundsAsync(2, bucketFloats, bytesPerPoint, bytesPerFloat: 4, (floats, repeats) => Task.FromResult(Run(floats, repeats))).GetAwaiter().GetResult();
    }

    /// <summary>One member: its buffer, its connection, a reader (the caller) and a sender thread.</summary>
    private sealed class Member : IDisposable
    {
        private readonly int _rank;
        private readonly Socket _socket;
        private readonly float[] _buffer;
        private readonly byte[] _incoming = new byte[ChunkBytes];
        private readonly Thread _sender;
        private readonly Thread _runner;
        private readonly SemaphoreSlim _send = new(0);
        private readonly SemaphoreSlim _sent = new(0);
        private readonly SemaphoreSlim _run = new(0);
        private readonly SemaphoreSlim _ran = new(0);
        private (int Start, int Length) _outgoing;
        private int _floats;
        private bool _stopping;

        public Member(int rank, Socket socket, int floats)
        {
            _rank = rank;
            _socket = socket;
            _buffer = new float[floats];
            _sender = new Thread(SendLoop) { IsBackground = true, Name = $"floor-send-{rank}" };
            _runner = new Thread(RunLoop) { IsBackground = true, Name = $"floor-run-{rank}" };
            _sender.Start();
            _runner.Start();
        }

        /// <summary>This member's all-reduce on its own thread (as if in its own process); the returned semaphore is released when it is done.</summary>
        public SemaphoreSlim StartAllReduce(int floats)
        {
            _floats = floats;
            _run.Release();
            return _ran;
        }

        /// <summary>Reduce-scatter then all-gather of the first <paramref name="floats"/> floats, on the calling thread.</summary>
        public void AllReduce(int floats)
        {
            var half = floats / 2;
            var (mineStart, mineLength) = _rank == 0 ? (0, half) : (half, floats - half);
            var (otherStart, otherLength) = _rank == 0 ? (half, floats - half) : (0, half);

            // The peer's shard goes out while its contribution to this member's shard comes in and is summed.
            Send(otherStart, otherLength);
            Receive(mineStart, mineLength, sum: true);
            _sent.Wait();

            // This member's sum goes out while the peer's sum lands in place.
            Send(mineStart, mineLength);
            Receive(otherStart, otherLength, sum: false);
            _sent.Wait();
        }

        public void Dispose()
        {
            _stopping = true;
            _send.Release();
            _run.Release();
            _sender.Join();
            _runner.Join();
            _send.Dispose();
            _sent.Dispose();
            _run.Dispose();
            _ran.Dispose();
        }

        private void Send(int start, int length)
        {
            _outgoing = (start, length);
            _send.Release();
        }

        private void Receive(int start, int length, bool sum)
        {
            var target = MemoryMarshal.AsBytes(_buffer.AsSpan(start, length));
            var done = 0;
            while (done < target.Length)
            {
                var want = Math.Min(ChunkBytes, target.Length - done);
                if (!sum)
                {
                    done += Read(target.Slice(done, want));
                    continue;
                }

                // A contribution is summed chunk by chunk, whole floats at a time.
                var got = ReadFull(_incoming.AsSpan(0, want));
                var floats = MemoryMarshal.Cast<byte, float>(_incoming.AsSpan(0, got));
                var into = MemoryMarshal.Cast<byte, float>(target.Slice(done, got));
                FloatSums.Add(into, floats); // the data plane's own sum
                done += got;
            }
        }

        private int Read(Span<byte> into)
        {
            var n = _socket.Receive(into);
            return n > 0 ? n : throw new IOException("the peer closed the floor's connection");
        }

        private int ReadFull(Span<byte> into)
        {
            var done = 0;
            while (done < into.Length)
            {
                done += Read(into[done..]);
            }

            return done;
        }

        private void SendLoop()
        {
            while (true)
            {
                _send.Wait();
                if (_stopping)
                {
                    return;
                }

                _socket.Send(MemoryMarshal.AsBytes(_buffer.AsSpan(_outgoing.Start, _outgoing.Length)));
                _sent.Release();
            }
        }

        private void RunLoop()
        {
            while (true)
            {
                _run.Wait();
                if (_stopping)
                {
                    return;
                }

                AllReduce(_floats);
                _ran.Release();
            }
        }
    }
}
