using System.Diagnostics;
using RnnCluster.Model.Checkpoints;
using RnnCluster.Tests.Parallel;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Checkpoints;

/// <summary>Two trainers never write one run directory.</summary>
public sealed class RunDirectoryLockTests
{
    [Fact]
    public void A_second_holder_is_refused_with_the_first_ones_process_and_gets_the_directory_once_it_is_released()
    {
        using var dir = new TempDirectory();
        var first = RunDirectoryLock.Acquire(dir.Path, TimeProvider.System);

        var e = Assert.Throws<CheckpointException>(() => RunDirectoryLock.Acquire(dir.Path, TimeProvider.System));
        Assert.Contains("in use by another trainer", e.Message, StringComparison.Ordinal);
        Assert.Contains($"process {Environment.ProcessId} on {Environment.MachineName}", e.Message, StringComparison.Ordinal);

        first.Dispose();
        RunDirectoryLock.Acquire(dir.Path, TimeProvider.System).Dispose();
    }

    [Fact]
    public void A_training_loop_on_a_run_directory_another_loop_writes_is_refused_and_the_first_keeps_it()
    {
        using var run = new SpecLoop();
        using var first = run.CreateLoop(null);

        var e = Assert.Throws<CheckpointException>(() => run.CreateLoop(null));

        Assert.Contains(Path.GetFullPath(run.RunDirectory), e.Message, StringComparison.Ordinal);
        first.Dispose();
        using var second = run.CreateLoop(null);
    }

    [Fact]
    public async Task A_lock_held_by_another_process_refuses_us_and_its_kill_9_frees_the_directory()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.Path);
        // Another process holding flock(LOCK_EX) on the lock file, as a trainer on another node of a shared file system would.
        var script = "import fcntl,sys,time\nf=open(sys.argv[1],'a')\nfcntl.flock(f,fcntl.LOCK_EX)\nprint('locked',flush=True)\ntime.sleep(600)\n";
        using var holder = Process.Start(new ProcessStartInfo("python3") { ArgumentList = { "-c", script, Path.Combine(dir.Path, RunDirectoryLock.LockFileName) }, RedirectStandardOutput = true })!;
        Assert.Equal("locked", await holder.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Throws<CheckpointException>(() => RunDirectoryLock.Acquire(dir.Path, TimeProvider.System));

        holder.Kill();
        await holder.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        RunDirectoryLock.Acquire(dir.Path, TimeProvider.System).Dispose();
    }
}
