using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace RnnCluster.Torch;

/// <summary>
/// Loads a libtorch other than the packaged CPU build — in practice the CUDA libtorch inside a PyTorch
/// install (<c>…/site-packages/torch/lib</c>), since no TorchSharp CUDA package is served to us.
/// TorchSharp's native library imports ~1,300 C++ symbols of libtorch, whose ABI changes between minor
/// versions, so the folder must hold libtorch 2.10.x (CXX11 ABI, which every 2.10 wheel has); anything
/// else is refused here with the reason, before a mismatched symbol could crash the process later.
/// </summary>
public static partial class ExternalLibTorch
{
    public const string RequiredVersionPrefix = "2.10.";

    /// <summary>Loads libtorch from <paramref name="directory"/> in place and says where it came from.</summary>
    internal static string Load(string directory)
    {
        var (lib, version) = Check(directory);
        try
        {
            // In place, so the CUDA libraries of the nvidia-* wheels resolve through libtorch's RUNPATH.
            // TorchSharp then finds these already loaded by their SONAMEs.
            NativeLibrary.Load(Path.Combine(lib, "libtorch.so"));
            var cuda = Path.Combine(lib, "libtorch_cuda.so");
            if (File.Exists(cuda))
            {
                NativeLibrary.Load(cuda);
            }
        }
        catch (DllNotFoundException e)
        {
            throw new TorchUnavailableException($"{TorchRuntime.LibTorchDirVariable}={directory}: the loader refused libtorch {version}: {e.Message}", e);
        }

        return $"libtorch {version} from {lib}";
    }

    /// <summary>
    /// Checks that <paramref name="directory"/> holds a libtorch TorchSharp can use, without loading it:
    /// returns its full path and version, or throws <see cref="TorchUnavailableException"/> saying why not.
    /// </summary>
    public static (string Directory, string Version) Check(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var lib = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        var variable = TorchRuntime.LibTorchDirVariable;
        if (!Directory.Exists(lib))
        {
            throw new TorchUnavailableException($"{variable}={directory}: no such directory", null);
        }

        if (!File.Exists(Path.Combine(lib, "libtorch.so")))
        {
            throw new TorchUnavailableException($"{variable}={directory}: no libtorch.so there (expected a PyTorch install's torch/lib folder)", null);
        }

        var version = ReadVersion(lib);
        if (version is null)
        {
            throw new TorchUnavailableException($"{variable}={directory}: cannot tell its libtorch version (no ../version.py beside the folder); TorchSharp needs exactly libtorch {RequiredVersionPrefix}x", null);
        }

        if (!version.StartsWith(RequiredVersionPrefix, StringComparison.Ordinal))
        {
            throw new TorchUnavailableException($"{variable}={directory}: holds libtorch {version}, but TorchSharp 0.107 is built against libtorch {RequiredVersionPrefix}x and its C++ ABI changes between minor versions; install torch=={RequiredVersionPrefix}* (e.g. a cu128 wheel)", null);
        }

        return (lib, version);
    }

    /// <summary>The version a PyTorch install records in <c>torch/version.py</c>, next to <c>torch/lib</c>.</summary>
    private static string? ReadVersion(string lib)
    {
        var file = Path.Combine(Path.GetDirectoryName(lib) ?? lib, "version.py");
        if (!File.Exists(file))
        {
            return null;
        }

        var match = VersionLine().Match(File.ReadAllText(file));
        return match.Success ? match.Groups[1].Value : null;
    }

    [GeneratedRegex("^__version__\\s*=\\s*['\"]([^'\"]+)['\"]", RegexOptions.Multiline)]
    private static partial Regex VersionLine();
}
