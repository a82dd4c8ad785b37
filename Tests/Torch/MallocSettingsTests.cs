using RnnCluster.Torch;

namespace RnnCluster.Tests.Torch;

/// <summary>
/// Loading libtorch makes glibc keep the memory a step frees for the next step (fixed mmap and trim
/// thresholds, a top pad), instead of mapping and zero-filling the logits' tens of MB afresh each step.
/// The effect on a training process was measured with perf and strace (docs/all-reduce-performance.md);
/// this checks that glibc took the settings.
/// </summary>
public sealed class MallocSettingsTests
{
    [Fact]
    public void Loading_libtorch_sets_glibc_malloc_to_keep_the_memory_a_step_frees()
    {
        TorchRuntime.EnsureLoaded();

        Assert.True(TorchRuntime.KeepsFreedMemory, "glibc refused one of the malloc settings (or GLIBC_TUNABLES set malloc tunables of its own)");
    }
}
