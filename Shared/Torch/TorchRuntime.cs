using System.Runtime.InteropServices;
using TorchSharp;

namespace RnnCluster.Torch;

/// <summary>
/// Process-wide facts and settings of the libtorch under TorchSharp. <see cref="EnsureLoaded"/> runs
/// before any other torch call of ours: it sets what libtorch's OpenMP runtime reads once, at load.
/// </summary>
public static partial class TorchRuntime
{
    /// <summary>
    /// Where a CUDA build of libtorch 2.10 lives (a PyTorch install's <c>torch/lib</c>); when set, it is
    /// loaded instead of the CPU build that ships with the package. Read once, at load.
    /// </summary>
    public const string LibTorchDirVariable = "RNNCLUSTER_LIBTORCH_DIR";

    private static readonly Lazy<string> Loaded = new(LoadAndCheck, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Loads libtorch once; throws <see cref="TorchUnavailableException"/> naming the cause when it cannot.</summary>
    public static void EnsureLoaded() => _ = Loaded.Value;

    /// <summary>libtorch and TorchSharp versions, where libtorch came from, CUDA and the parallel backend.</summary>
    public static string BuildInfo
    {
        get
        {
            var origin = Loaded.Value;
            var cuda = torch.cuda.is_available() ? $"CUDA with {torch.cuda.device_count()} device(s)" : "no CUDA";
            return $"libtorch {torch.__version__} through TorchSharp {typeof(torch).Assembly.GetName().Version} ({origin}); {cuda}; "
                + $"intra-op threads {torch.get_num_threads()}, OMP_WAIT_POLICY={Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") ?? "(unset)"}";
        }
    }

    /// <summary>Whether loading set glibc's malloc to keep freed memory for the next step (see <see cref="KeepFreedMemory"/>).</summary>
    public static bool KeepsFreedMemory { get; private set; }

    /// <summary>libtorch's intra-op threads, process-wide.</summary>
    public static int Threads
    {
        get
        {
            EnsureLoaded();
            return torch.get_num_threads();
        }

        set => SetThreads(value);
    }

    /// <summary>Sets libtorch's intra-op threads (OpenMP; MKL and oneDNN use the same pool), process-wide.</summary>
    public static void SetThreads(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        EnsureLoaded();
        if (torch.get_num_threads() != threads)
        {
            torch.set_num_threads(threads);
        }
    }

    public static int CudaDeviceCount
    {
        get
        {
            EnsureLoaded();
            return torch.cuda.is_available() ? torch.cuda.device_count() : 0;
        }
    }

    /// <summary>
    /// One line for an error libtorch raised through TorchSharp (an <see cref="ExternalException"/> whose
    /// message is libtorch's, with a C++ stack trace after the first line); null for anything else.
    /// </summary>
    public static string? DescribeFailure(Exception e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (e is not ExternalException || e.GetType() != typeof(ExternalException) || e.Source != "TorchSharp")
        {
            return null;
        }

        var first = e.Message.Split('\n', 2)[0].Trim();
        return first.Contains("out of memory", StringComparison.OrdinalIgnoreCase)
            ? $"libtorch ran out of memory: {first} (lower data.batch-size, data.bptt or the model size)"
            : $"libtorch: {first}";
    }

    private static string LoadAndCheck()
    {
        // libgomp reads OMP_WAIT_POLICY once, when libtorch loads, through the C library's environment;
        // Environment.SetEnvironmentVariable does not reach that on Linux, so set it there. Passive
        // waiting: idle OpenMP threads sleep instead of spinning, which made steps 3-10x slower when
        // replicas, communication threads or other processes shared the cores. A user's own value wins.
        if (OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is null)
        {
            _ = NativeEnvironment.setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
            Environment.SetEnvironmentVariable("OMP_WAIT_POLICY", "PASSIVE");
        }

        KeepFreedMemory();
        var origin = "CPU build from the libtorch-cpu-linux-x64 package";
        var external = Environment.GetEnvironmentVariable(LibTorchDirVariable);
        if (!string.IsNullOrEmpty(external))
        {
            origin = ExternalLibTorch.Load(external);
        }

        try
        {
            _ = torch.get_num_threads();
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or EntryPointNotFoundException or NotSupportedException)
        {
            throw new TorchUnavailableException($"libtorch could not be loaded ({origin}): {RootMessage(e)}", e);
        }

        return origin;
    }

    /// <summary>
    /// Makes glibc's malloc keep the memory libtorch frees for the next step instead of handing it back to
    /// the kernel. A step allocates and frees the same large tensors (the logits and their gradients, tens
    /// of MB) on the compute thread, whose malloc arena otherwise maps a fresh heap for them and unmaps it
    /// again every step: every page of it is then zero-filled on first touch, measured at 10-20% of a
    /// worker's CPU. Fixed thresholds (which also turn off glibc's own adaptive ones): blocks up to 32 MiB
    /// (the most glibc allows) come from the arenas, a thread heap is never given back while another has
    /// room (the top pad), and the free top of a heap is trimmed only beyond 256 MiB. A user's own
    /// <c>GLIBC_TUNABLES</c> malloc settings win; elsewhere than glibc on Linux nothing changes.
    /// </summary>
    private static void KeepFreedMemory()
    {
        if (!OperatingSystem.IsLinux() || (Environment.GetEnvironmentVariable("GLIBC_TUNABLES") ?? "").Contains("glibc.malloc.", StringComparison.Ordinal))
        {
            return;
        }

        const int TrimThreshold = -1;
        const int TopPad = -2;
        const int MmapThreshold = -3;
        try
        {
            // mallopt answers 1 when it took the value.
            KeepsFreedMemory = NativeEnvironment.mallopt(MmapThreshold, 32 << 20) == 1
                & NativeEnvironment.mallopt(TopPad, 64 << 20) == 1
                & NativeEnvironment.mallopt(TrimThreshold, 256 << 20) == 1;
        }
        catch (EntryPointNotFoundException)
        {
            // A C library without mallopt (musl has it, as a no-op): its allocator decides.
        }
    }

    private static string RootMessage(Exception e)
    {
        var messages = new List<string>();
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is not TypeInitializationException && !string.IsNullOrWhiteSpace(x.Message))
            {
                messages.Add(x.Message.Trim());
            }
        }

        var text = messages.Count > 0 ? string.Join(" <- ", messages.Distinct()) : e.GetType().Name;
        return text.Contains("GLIBCXX", StringComparison.Ordinal)
            ? text + ". The build marks TorchSharp's one GLIBCXX_3.4.32 need weak (build/TorchSharpNative.targets); run through scripts/rnncluster.sh or rebuild so the patched library is in place."
            : text;
    }

    private static partial class NativeEnvironment
    {
        [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int setenv(string name, string value, int overwrite);

        [LibraryImport("libc", EntryPoint = "mallopt")]
        internal static partial int mallopt(int param, int value);
    }
}
