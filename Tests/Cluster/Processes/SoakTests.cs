using System.Diagnostics;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Cluster.Processes;

/// <summary>
/// The soak (<c>bench/soak.sh</c>) in its short form: a coordinator, a standby and three workers on
/// loopback for five minutes, a worker killed or paused every 45 s and the active coordinator killed
/// every two minutes. The script's verdict is the assertion: every step applied once, the tokens of
/// exactly that many steps, the losses before the first fault bit-identical to an unfailed run, the
/// final validation loss within tolerance of it, memory, threads and fds flat per process.
/// </summary>
/// <remarks>
/// Its own collection, which runs beside the rest of the suite from the start (<see cref="SoakFirst"/>):
/// it spends its six minutes mostly waiting, and run alone it would make the suite six minutes longer.
/// </remarks>
[Collection(SoakCollection.Name)]
public sealed class SoakTests
{
    /// <summary>Five minutes of faults, cluster start and stop, the reference run and the verdict, on a loaded machine.</summary>
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task Five_minutes_of_worker_kills_worker_pauses_and_coordinator_kills_lose_no_step_and_leave_memory_flat()
    {
        using var dir = new TempDirectory();
        var output = dir.Combine("soak");
        // Seed 5 draws a kill first, then a pause: both kinds land within the five minutes. The rest of the suite
        // loads the machine unevenly meanwhile, so the step-rate check (a queue that grows slows every step) allows
        // the last tenth of the steps to run at 40% of the first tenth's rate, not the full soak's 70%.
        var (code, text) = await RunAsync(
            "--minutes", "5", "--fault-every", "45", "--coordinators", "2", "--coordinator-fault-every", "120",
            "--seed", "5", "--sample-every", "15", "--warmup", "45", "--throughput-floor", "0.4", "--out", output,
            "--coordinator-exe", Path.Combine(AppContext.BaseDirectory, "rnncluster.dll"),
            "--worker-exe", Path.Combine(AppContext.BaseDirectory, "rnncluster-worker.dll"));

        var verdict = Path.Combine(output, "verdict.txt");
        var table = File.Exists(verdict) ? await File.ReadAllTextAsync(verdict) : "(no verdict.txt)";
        Assert.True(code == 0, $"bench/soak.sh exited {code}. Verdict:\n{table}\nIts output:\n{text}\n{Tails(output)}");

        var faults = File.ReadAllLines(Path.Combine(output, "faults.csv")).Skip(1).Select(l => l.Split(',')[2]).ToList();
        Assert.True(faults.Contains("worker-kill") && faults.Contains("worker-pause") && faults.Contains("coordinator-kill"),
            $"the soak should inject every kind of fault, it injected [{string.Join(", ", faults)}]. Verdict:\n{table}");
        Assert.Contains("verdict: PASS", table, StringComparison.Ordinal);
    }

    /// <summary>The end of the fault log and of every node's log: the directory is gone once the test ends.</summary>
    private static string Tails(string output)
    {
        var logs = Path.Combine(output, "run", "logs");
        string[] nodes = Directory.Exists(logs) ? [.. Directory.GetFiles(logs, "*.log").Order(StringComparer.Ordinal)] : [];
        string[] files = [Path.Combine(output, "faults.log"), .. nodes];
        return string.Join('\n', files.Where(File.Exists).Select(f => $"--- last lines of {Path.GetFileName(f)}:\n{string.Join('\n', File.ReadLines(f).TakeLast(25))}"));
    }

    private static async Task<(int Code, string Output)> RunAsync(params string[] args)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(RepositoryRoot.Path, "bench", "soak.sh"));
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(Limit);
        }
        catch (TimeoutException)
        {
            // SIGTERM: the script stops its cluster on the way out.
            Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])?.WaitForExit();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
            throw new TimeoutException($"bench/soak.sh ran past {Limit.TotalMinutes} minutes:\n{await stdout}{await stderr}");
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}

/// <summary>The soak's own collection: parallel with the others (it is not a <see cref="ProcessCollection"/> member).</summary>
[CollectionDefinition(Name)]
public sealed class SoakCollection
{
    public const string Name = "soak";
}
