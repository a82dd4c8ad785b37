using System.Diagnostics;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Cluster.Processes;

/// <summary>
/// A cluster whose nodes each have a network of their own (deploy/netns/netns-cluster.sh): a worker
/// whose link goes down is downed by the coordinator; when the link comes back it learns so, rejoins
/// as a new incarnation and gets streams again, while training never stops.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class NetnsClusterTests
{
    private static readonly TimeSpan Patience = LocalCluster.Patience;

    [NetnsFact]
    public async Task A_partitioned_worker_is_downed_and_after_the_heal_its_launcher_starts_it_again_as_a_new_incarnation()
    {
        using var dir = new TempDirectory();
        await using var network = new NetnsCluster(dir.Combine("run"));
        await network.RunAsync("down", "--timeout", "10"); // what a crashed earlier run may have left
        await network.RunAsync("up", "2");
        string[] start =
        [
            "start", "-r", network.RunDirectory, "--no-build",
            "--coordinator-exe", Path.Combine(AppContext.BaseDirectory, "rnncluster.dll"),
            "--worker-exe", Path.Combine(AppContext.BaseDirectory, "rnncluster-worker.dll"),
            "--", "--max-steps", "100000",
            .. Settings("training.epochs=10000", "training.schedule=constant", "cluster.min-workers=2", "checkpoint.every-steps=0"),
        ];
        await network.RunAsync(start);
        var coordinator = network.Log("coordinator");
        await coordinator.WaitForAsync(l => l.StartsWith("step 3/", StringComparison.Ordinal), Patience, "step 3");

        await network.RunAsync("partition", "w2");
        await coordinator.WaitForAsync(l => l.Contains("is unreachable", StringComparison.Ordinal), Patience, "worker 2 unreachable");
        await coordinator.WaitForAsync(l => l.Contains("was removed from the cluster: it was downed", StringComparison.Ordinal), Patience, "worker 2 downed by the split-brain resolver");
        await coordinator.WaitForAsync(l => l.Contains("Generation", StringComparison.Ordinal) && l.Contains(": 1 workers", StringComparison.Ordinal), Patience, "a plan without worker 2");

        await network.RunAsync("heal", "w2");
        // A downed node never rejoins: the worker exits 3 and its launcher starts it again.
        await network.Log("worker-2").WaitForAsync(l => l.Contains("starting it again as a new incarnation", StringComparison.Ordinal), Patience, "worker 2 started again");
        await coordinator.WaitForAsync(l => l.Contains("Registered worker 2", StringComparison.Ordinal), Patience, "worker 2's new incarnation registered");
        await coordinator.WaitForAsync(l => l.Contains("Generation", StringComparison.Ordinal) && l.Contains("w2:", StringComparison.Ordinal), Patience, "a plan with worker 2 again");
    }

    private static string[] Settings(params string[] extra) =>
        [.. LocalCluster.TinyRun(100_000, extra).SelectMany(s => new[] { "--set", s })];

    /// <summary>Drives netns-cluster.sh under its own prefix and subnet; disposing takes everything down.</summary>
    private sealed class NetnsCluster(string runDirectory) : IAsyncDisposable
    {
        private static readonly string Script = Path.Combine(RepositoryRoot.Path, "deploy", "netns", "netns-cluster.sh");

        public string RunDirectory { get; } = runDirectory;

        public LogFile Log(string node) => new(Path.Combine(RunDirectory, "logs", node + ".log"));

        public async Task RunAsync(params string[] args)
        {
            var (code, output) = await RunScriptAsync(args);
            Assert.True(code == 0, $"netns-cluster.sh {string.Join(' ', args)} exited {code}:\n{output}");
        }

        public async ValueTask DisposeAsync() => await RunScriptAsync(["down", "--timeout", "10"]);

        private static async Task<(int Code, string Output)> RunScriptAsync(string[] args)
        {
            var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
            info.ArgumentList.Add(Script);
            foreach (var a in args)
            {
                info.ArgumentList.Add(a);
            }

            // A prefix and subnet of its own, so a cluster someone runs by hand is never touched.
            info.Environment["RNN_NETNS_PREFIX"] = "rnnx";
            info.Environment["RNN_NETNS_SUBNET"] = "10.79.0";
            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(4));
            return (process.ExitCode, await stdout + await stderr);
        }
    }

    /// <summary>A node's log file, read again whenever it changes, until a line matches.</summary>
    private sealed class LogFile(string path)
    {
        public async Task WaitForAsync(Func<string, bool> match, TimeSpan timeout, string what)
        {
            var directory = Path.GetDirectoryName(path)!;
            Directory.CreateDirectory(directory);
            using var changed = new SemaphoreSlim(0);
            using var watcher = new FileSystemWatcher(directory, Path.GetFileName(path)) { NotifyFilter = NotifyFilters.Size | NotifyFilters.LastWrite | NotifyFilters.FileName };
            watcher.Changed += (_, _) => changed.Release();
            watcher.Created += (_, _) => changed.Release();
            watcher.EnableRaisingEvents = true;
            var deadline = Stopwatch.StartNew();
            long offset = 0;
            var pending = string.Empty;
            while (true)
            {
                if (File.Exists(path))
                {
                    // Only what was appended since the last read; a line may arrive in pieces.
                    using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                    stream.Seek(offset, SeekOrigin.Begin);
                    using var reader = new StreamReader(stream);
                    var text = pending + await reader.ReadToEndAsync();
                    offset = stream.Position;
                    var lines = text.Split('\n');
                    pending = lines[^1];
                    if (lines[..^1].Any(match))
                    {
                        return;
                    }
                }

                var left = timeout - deadline.Elapsed;
                if (left <= TimeSpan.Zero)
                {
                    var tail = File.Exists(path) ? string.Join('\n', File.ReadLines(path).TakeLast(30)) : "(no log file)";
                    throw new TimeoutException($"{Path.GetFileName(path)} did not show {what} within {timeout.TotalSeconds} s; its end:\n{tail}");
                }

                // Woken by the file growing; the 1 s cap only guards against a missed notification.
                await changed.WaitAsync(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
            }
        }
    }
}
