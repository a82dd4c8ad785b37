using RnnCluster.Tests.Support;
using RnnCluster.Torch;

namespace RnnCluster.Tests.Torch;

/// <summary>A CUDA libtorch from a PyTorch install is checked before anything loads it, with one line saying what is wrong.</summary>
public sealed class ExternalLibTorchTests
{
    [Fact]
    public void A_missing_folder_is_named()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<TorchUnavailableException>(() => ExternalLibTorch.Check(dir.Combine("nowhere")));
        Assert.Contains(TorchRuntime.LibTorchDirVariable, e.Message, StringComparison.Ordinal);
        Assert.Contains("no such directory", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_folder_without_libtorch_is_refused()
    {
        using var dir = new TempDirectory();
        var lib = Directory.CreateDirectory(dir.Combine("torch", "lib")).FullName;
        var e = Assert.Throws<TorchUnavailableException>(() => ExternalLibTorch.Check(lib));
        Assert.Contains("no libtorch.so", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Another_minor_version_is_refused_naming_both_versions()
    {
        var lib = FakeInstall("2.9.1+cu128", out var dir);
        using (dir)
        {
            var e = Assert.Throws<TorchUnavailableException>(() => ExternalLibTorch.Check(lib));
            Assert.Contains("2.9.1+cu128", e.Message, StringComparison.Ordinal);
            Assert.Contains("2.10.x", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_2_10_install_passes_the_check()
    {
        var lib = FakeInstall("2.10.0+cu128", out var dir);
        using (dir)
        {
            var (path, version) = ExternalLibTorch.Check(lib);
            Assert.Equal("2.10.0+cu128", version);
            Assert.Equal(Path.GetFullPath(lib), path);
        }
    }

    /// <summary>The shape of a PyTorch install: torch/version.py beside torch/lib/libtorch.so (an empty stand-in; nothing loads it).</summary>
    private static string FakeInstall(string version, out TempDirectory dir)
    {
        dir = new TempDirectory();
        var lib = Directory.CreateDirectory(dir.Combine("torch", "lib")).FullName;
        File.WriteAllText(Path.Combine(lib, "libtorch.so"), string.Empty);
        File.WriteAllText(dir.Combine("torch", "version.py"), $"__version__ = '{version}'\ncuda = '12.8'\n");
        return lib;
    }
}
