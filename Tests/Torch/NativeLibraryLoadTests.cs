using RnnCluster.Build;
using RnnCluster.Torch;

namespace RnnCluster.Tests.Torch;

/// <summary>
/// TorchSharp's native library loads on Debian 12 with no user action: the build marks its one
/// GLIBCXX_3.4.32 need (a GCC 13+ marker nothing calls) weak, since Debian 12's libstdc++ stops at 3.4.30.
/// </summary>
public sealed class NativeLibraryLoadTests
{
    private static string Native => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    [Fact]
    public void Libtorch_2_10_loads_in_this_process_through_TorchSharp()
    {
        TorchRuntime.EnsureLoaded();

        Assert.Contains("libtorch 2.10", TorchRuntime.BuildInfo, StringComparison.Ordinal);
        Assert.True(TorchRuntime.Threads >= 1);
    }

    [Fact]
    public void The_shipped_native_library_needs_GLIBCXX_3_4_32_only_weakly_and_only_for_the_unused_marker()
    {
        var needs = ElfVersionNeeds.Read(File.ReadAllBytes(Native));

        var marker = Assert.Single(needs, n => n.Version == "GLIBCXX_3.4.32");
        Assert.True(marker.IsWeak, "the build did not mark GLIBCXX_3.4.32 weak in " + Native);
        Assert.Equal(["_ZSt21ios_base_library_initv"], marker.Symbols);
        Assert.All(needs.Where(n => n != marker), n => Assert.False(n.IsWeak, n.Version + " was weakened too"));
    }

    [Fact]
    public void This_machines_libstdcxx_is_the_one_the_patch_is_for_or_newer()
    {
        // On Debian 12 the system libstdc++ lacks GLIBCXX_3.4.32, so the load above proves the patch works;
        // on a newer system both facts hold trivially. Either way the library loaded.
        var libstdcxx = new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6" }.FirstOrDefault(File.Exists);
        Assert.NotNull(libstdcxx);
        var hasNewer = System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(libstdcxx)).Contains("GLIBCXX_3.4.32", StringComparison.Ordinal);
        TorchRuntime.EnsureLoaded();
        Assert.True(hasNewer || ElfVersionNeeds.Read(File.ReadAllBytes(Native)).Single(n => n.Version == "GLIBCXX_3.4.32").IsWeak);
    }
}
