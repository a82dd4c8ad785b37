using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Google.Protobuf;
using RnnCluster.DataPlane;
using RnnCluster.DataPlane.Protocol;
using RnnCluster.Training.Cluster;
using ComputeWindow = RnnCluster.Training.Parallel.ComputeWindow;
using WindowGradients = RnnCluster.Training.Parallel.WindowGradients;

// CPU cost of one step message of a cluster run, stage by stage, with the transport's own code:
// the serializers of ClusterProtocol (through MessageRegistry), ChunkWriter.SplitMessage, the
// per-chunk Frame.WriteTo FrameSocket does, and on the receiving side Frame parsing,
// ChunkAssembler, ChunkAssembler.ParseMessage and decoding — everything PeerConnection runs except the sockets, which are timed
// apart as a WebSocket pair over loopback TCP in 1 MiB messages (both directions: a client masks).
// Figures are the CPU time of this process (CLOCK_PROCESS_CPUTIME_ID: every thread, kernel time of
// the socket copies and GC included), not wall time, so other load on a shared machine changes
// them little. Not a test: numbers depend on the machine.
//   dotnet run -c Release --project bench/cluster/WireCost -- [parameters] [iterations]
var parameters = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 4_649_190; // the 2x200 LM, vocabulary 9,990
var iterations = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 8;
const int Streams = 10, Length = 35, StateFloats = 2 * 2 * 10 * 200; // one of 2 workers: 10 streams, 2 layers x (h, c) x 200
var bytes = parameters * 4L;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wire cost of one step message: {parameters:N0} parameters = {bytes / 1e6:F1} MB of floats, {Environment.ProcessorCount} cores; CPU ms of this process, median of {iterations} after 2 warm-ups"));

var rng = new Random(1);
var floats = new float[parameters];
for (var i = 0; i < floats.Length; i++)
{
    floats[i] = (float)rng.NextDouble();
}

var ids = Enumerable.Range(0, Streams * Length).Select(i => (long)(i * 37 % 9990)).ToArray();
var state = new float[StateFloats];
var window = new ComputeWindow(100, 1, 1, 0, Streams, Length, ids, ids, state, floats);
var gradients = new WindowGradients(100, 1, 1, 0, 1234.5, Streams * Length, floats, state, 0.1, 0.01);
var registry = ClusterProtocol.CreateRegistry();
var limits = FrameLimits.Default;
var writer = new ChunkWriter(limits);
const string Sender = "rnn://rnncluster@127.0.0.1:2552/user/coordinator";
const string Recipient = "rnn://rnncluster@127.0.0.1:40000/user/node/workers-1/worker-0";

var results = new List<(string Stage, double Window, double Gradients)>();
void Row(string stage, Func<object, Action> setup)
{
    var w = Median(setup(window));
    var g = Median(setup(gradients));
    results.Add((stage, w, g));
}

// Send side, as PeerConnection.SendAsync and FrameSocket.SendAsync run it.
Row("encode: float[] -> bytes + protobuf message", m => () => registry.Encode(m, Sender, Recipient));
Row("ChunkWriter.SplitMessage (XxHash128, no copy)", m =>
{
    var message = registry.Encode(m, Sender, Recipient);
    return () => writer.SplitMessage(message);
});
Row("per chunk: Frame.WriteTo a pooled buffer", m =>
{
    var frames = writer.SplitMessage(registry.Encode(m, Sender, Recipient));
    return () =>
    {
        foreach (var frame in frames)
        {
            var size = frame.CalculateSize();
            var buffer = ArrayPool<byte>.Shared.Rent(size);
            frame.WriteTo(buffer.AsSpan(0, size));
            ArrayPool<byte>.Shared.Return(buffer);
        }
    };
});

// Receive side, as FrameSocket.ReceiveAsync and PeerConnection.DispatchAsync run it.
Row("per chunk: ChunkAssembler.ParseFrame (in place)", m =>
{
    var wire = Wire(m);
    return () =>
    {
        foreach (var chunk in wire)
        {
            ChunkAssembler.ParseFrame(chunk);
        }
    };
});
Row("ChunkAssembler: pooled copies, assemble, XxHash128", m =>
{
    var chunks = Wire(m).Select(c => Frame.Parser.ParseFrom(c).Chunk).ToArray();
    return () =>
    {
        var assembler = new ChunkAssembler("peer", limits, TimeProvider.System);
        foreach (var chunk in chunks)
        {
            assembler.Accept(chunk, out _);
        }
    };
});
Row("ChunkAssembler.ParseMessage (payload in place)", m =>
{
    var payload = new Frame { Message = registry.Encode(m, Sender, Recipient) }.ToByteArray();
    return () => ChunkAssembler.ParseMessage(payload);
});
Row("decode: protobuf parse + bytes -> float[]", m =>
{
    var message = registry.Encode(m, Sender, Recipient);
    return () => registry.Decode(message);
});

// The stages in one go, as a sender and a receiver run them back to back: less noisy than their sum,
// since each stage alone is a few milliseconds and a GC falls into whichever stage triggers it.
var whole = (Window: Median(WholePath(window)), Gradients: Median(WholePath(gradients)));

var sendSum = results.Take(3).Aggregate((0.0, 0.0), (s, r) => (s.Item1 + r.Window, s.Item2 + r.Gradients));
var receiveSum = results.Skip(3).Aggregate((0.0, 0.0), (s, r) => (s.Item1 + r.Window, s.Item2 + r.Gradients));
Console.WriteLine($"{"stage",-48} {"ComputeWindow",13} {"WindowGradients",15}");
foreach (var (stage, w, g) in results)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{stage,-48} {w,13:F1} {g,15:F1}"));
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"sum, send side",-48} {sendSum.Item1,13:F1} {sendSum.Item2,15:F1}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"sum, receive side",-48} {receiveSum.Item1,13:F1} {receiveSum.Item2,15:F1}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"whole path, send + receive in one go",-48} {whole.Window,13:F1} {whole.Gradients,15:F1}"));

// Unit costs on this machine, for reading the stages above.
var source = new byte[bytes];
new Random(2).NextBytes(source);
var target = new byte[bytes];
Console.WriteLine();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"unit costs for {bytes / 1e6:F1} MB:"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  SHA-256                                  {Median(() => SHA256.HashData(source)),8:F1}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  copy into an existing buffer             {Median(() => source.AsSpan().CopyTo(target)),8:F1}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  copy into a new byte[] (LOH allocation)  {Median(() => source.AsSpan().CopyTo(new byte[bytes])),8:F1}"));

// Garbage per message round trip (send + receive of one ComputeWindow and one WindowGradients).
var allocated = GC.GetTotalAllocatedBytes(precise: true);
var gen2 = GC.CollectionCount(2);
var pause = GC.GetTotalPauseDuration();
const int Trips = 10;
for (var i = 0; i < Trips; i++)
{
    foreach (var m in new object[] { window, gradients })
    {
        var assembler = new ChunkAssembler("peer", limits, TimeProvider.System);
        byte[]? payload = null;
        foreach (var chunk in Wire(m))
        {
            assembler.Accept(ChunkAssembler.ParseFrame(chunk).Chunk, out payload);
        }

        registry.Decode(ChunkAssembler.ParseMessage(payload!));
    }
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  per step message (send + receive): {(GC.GetTotalAllocatedBytes(precise: true) - allocated) / 2.0 / Trips / 1e6:F0} MB allocated, {(GC.CollectionCount(2) - gen2) / 2.0 / Trips:F2} gen2 GCs, {(GC.GetTotalPauseDuration() - pause).TotalMilliseconds / 2 / Trips:F1} ms GC pause"));

// The sockets: one message's chunks as 1 MiB binary WebSocket messages over loopback TCP.
var frameBytes = Wire(window);
var (client, server) = await WebSocketPairAsync();
Console.WriteLine();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"WebSocket over loopback TCP, {frameBytes.Count} messages of <= 1 MiB ({frameBytes.Sum(f => (long)f.Length) / 1e6:F1} MB):"));
var clientToServer = await MedianAsync(() => TransferAsync(client, server, frameBytes));
var serverToClient = await MedianAsync(() => TransferAsync(server, client, frameBytes));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  client -> server (client masks)          {clientToServer,8:F1}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  server -> client                         {serverToClient,8:F1}"));
return 0;

// Encode, chunk, write each chunk as FrameSocket does, parse it back, reassemble and decode.
Action WholePath(object m) => () =>
{
    var assembler = new ChunkAssembler("peer", limits, TimeProvider.System);
    byte[]? payload = null;
    foreach (var frame in writer.SplitMessage(registry.Encode(m, Sender, Recipient)))
    {
        var size = frame.CalculateSize();
        var buffer = ArrayPool<byte>.Shared.Rent(size);
        frame.WriteTo(buffer.AsSpan(0, size));
        assembler.Accept(ChunkAssembler.ParseFrame(buffer.AsMemory(0, size)).Chunk, out payload);
        ArrayPool<byte>.Shared.Return(buffer);
    }

    registry.Decode(ChunkAssembler.ParseMessage(payload!));
};

// The chunk frames of one message, serialized as they go on the wire.
List<byte[]> Wire(object message) =>
    [.. writer.SplitMessage(registry.Encode(message, Sender, Recipient)).Select(f => f.ToByteArray())];

double Median(Action action)
{
    var times = new List<double>();
    for (var i = 0; i < iterations + 2; i++)
    {
        var started = ProcessCpu.Milliseconds();
        action();
        if (i >= 2)
        {
            times.Add(ProcessCpu.Milliseconds() - started);
        }
    }

    times.Sort();
    return times[times.Count / 2];
}

async Task<double> MedianAsync(Func<Task> action)
{
    var times = new List<double>();
    for (var i = 0; i < iterations + 2; i++)
    {
        var started = ProcessCpu.Milliseconds();
        await action();
        if (i >= 2)
        {
            times.Add(ProcessCpu.Milliseconds() - started);
        }
    }

    times.Sort();
    return times[times.Count / 2];
}

static async Task TransferAsync(WebSocket from, WebSocket to, List<byte[]> frames)
{
    var receive = Task.Run(async () =>
    {
        var buffer = new byte[(1 << 20) + 1];
        for (var i = 0; i < frames.Count; i++)
        {
            ValueWebSocketReceiveResult result;
            var length = 0;
            do
            {
                result = await to.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None);
                length += result.Count;
            }
            while (!result.EndOfMessage);
        }
    });
    foreach (var frame in frames)
    {
        await from.SendAsync(frame, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
    }

    await receive;
}

static async Task<(WebSocket Client, WebSocket Server)> WebSocketPairAsync()
{
    var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    var connecting = new TcpClient();
    await connecting.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
    var accepted = await listener.AcceptTcpClientAsync();
    listener.Stop();
    // No keep-alive pings, as the transport configures both ends.
    var client = WebSocket.CreateFromStream(connecting.GetStream(), new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });
    var server = WebSocket.CreateFromStream(accepted.GetStream(), new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero });
    return (client, server);
}

/// <summary>CPU time of the whole process, all threads, user and kernel, in nanoseconds' resolution.</summary>
internal static partial class ProcessCpu
{
    private const int ClockProcessCpuTimeId = 2;

    public static double Milliseconds()
    {
        if (ClockGetTime(ClockProcessCpuTimeId, out var t) != 0)
        {
            throw new InvalidOperationException($"clock_gettime failed: errno {Marshal.GetLastPInvokeError()}");
        }

        return (t.Seconds * 1e3) + (t.Nanoseconds / 1e6);
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime", SetLastError = true)]
    private static partial int ClockGetTime(int clock, out Timespec time);

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
