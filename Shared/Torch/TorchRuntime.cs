using System.Text;

namespace RnnCluster.Torch;

/// <summary>Process-wide facts and settings of the libtorch under the bridge.</summary>
public static unsafe class TorchRuntime
{
    private static readonly Lazy<int> AbiVersion = new(LoadAndCheck);

    /// <summary>Loads the bridge and checks its ABI version; throws <see cref="TorchUnavailableException"/> with a fix when it cannot.</summary>
    public static void EnsureLoaded() => _ = AbiVersion.Value;

    /// <summary>libtorch version, where it came from, CUDA support and the parallel backend.</summary>
    public static string BuildInfo
    {
        get
        {
            EnsureLoaded();
            Span<byte> buffer = stackalloc byte[4096];
            fixed (byte* p = buffer)
            {
                NativeCheck.Status(NativeMethods.rnn_build_info(p, buffer.Length, out var length));
                return Encoding.UTF8.GetString(buffer[..Math.Min(length, buffer.Length - 1)]);
            }
        }
    }

    /// <summary>libtorch's intra-op threads (setting it keeps OpenBLAS at one thread).</summary>
    public static int Threads
    {
        get
        {
            EnsureLoaded();
            NativeCheck.Status(NativeMethods.rnn_get_num_threads(out var threads));
            return threads;
        }

        set => SetThreads(value, blasThreads: 1);
    }

    /// <summary>Sets libtorch's intra-op threads and OpenBLAS's own threads; keep their product within the cores.</summary>
    public static void SetThreads(int threads, int blasThreads)
    {
        EnsureLoaded();
        NativeCheck.Status(NativeMethods.rnn_set_num_threads(threads, blasThreads));
    }

    public static int CudaDeviceCount
    {
        get
        {
            EnsureLoaded();
            NativeCheck.Status(NativeMethods.rnn_cuda_device_count(out var count));
            return count;
        }
    }

    private static int LoadAndCheck()
    {
        int version;
        try
        {
            version = NativeMethods.rnn_abi_version();
        }
        catch (DllNotFoundException e)
        {
            throw new TorchUnavailableException(
                "the native bridge librnn_bridge.so (or libtorch under it) could not be loaded. Install libtorch with "
                + "'bash scripts/setup.sh' (Debian: apt-get install libtorch-dev libopenblas0-pthread) and rebuild. Loader said: " + e.Message,
                e);
        }

        if (version != NativeMethods.ExpectedAbiVersion)
        {
            throw new TorchUnavailableException(
                $"librnn_bridge.so has ABI version {version} but this build expects {NativeMethods.ExpectedAbiVersion}; rebuild the solution.",
                null);
        }

        return version;
    }
}
