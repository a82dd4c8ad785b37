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
/// The soak runs in the background (<see cref="SoakRun"/>): under <c>scripts/test.sh</c> it starts with the
/// process tests and runs beside them, which it spends its six minutes mostly waiting for; run after them, it
/// would make the suite six minutes longer. A focused run starts it when this test runs.
/// </remarks>
[Collection(ProcessCollection.Name)]
[RunsLastInCollection]
public sealed class SoakTests(SoakRun soak)
{
    [Fact]
    public async Task Five_minutes_of_worker_kills_worker_pauses_and_coordinator_kills_lose_no_step_and_leave_memory_flat()
    {
        var (code, text) = await soak.ResultAsync();

        var verdict = Path.Combine(soak.Output, "verdict.txt");
        var table = File.Exists(verdict) ? await File.ReadAllTextAsync(verdict) : "(no verdict.txt)";
        Assert.True(code == 0, $"bench/soak.sh exited {code}. Verdict:\n{table}\nIts output:\n{text}\n{SoakRun.Tails(soak.Output)}\n{SoakRun.Keep(soak.Output)}");

        var faults = File.ReadAllLines(Path.Combine(soak.Output, "faults.csv")).Skip(1).Select(l => l.Split(',')[2]).ToList();
        Assert.True(faults.Contains("worker-kill") && faults.Contains("worker-pause") && faults.Contains("coordinator-kill"),
            $"the soak should inject every kind of fault, it injected [{string.Join(", ", faults)}]. Verdict:\n{table}");
        Assert.Contains("verdict: PASS", table, StringComparison.Ordinal);
    }
}

/// <summary>
/// The short soak as a fixture of the process tests' collection. With <see cref="StartEarlyVariable"/> = 1
/// (<c>scripts/test.sh</c> sets it) it starts when the collection does; otherwise when <see cref="SoakTests"/>
/// asks for its result, so a focused run of other process tests never starts it.
/// </summary>
public sealed class SoakRun : IDisposable
{
    public const string StartEarlyVariable = "RNNCLUSTER_TEST_SOAK_EARLY";

    /// <summary>Five minutes of faults, cluster start and stop, the reference run and the verdict, beside other tests.</summary>
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(10);

    private readonly TempDirectory _directory = new();
    private readonly Lazy<Task<(int Code, string Output)>> _run;
    private Process? _process;

    public SoakRun()
    {
        _run = new(StartAsync);
        if (Environment.GetEnvironmentVariable(StartEarlyVariable) == "1")
        {
            _ = _run.Value;
        }
    }

    /// <summary>The soak's output directory (faults.csv, verdict.txt, run/logs).</summary>
    public string Output => _directory.Combine("soak");

    /// <summary>The script's exit status and output, once it has ended.</summary>
    public Task<(int Code, string Output)> ResultAsync() => _run.Value;

    public void Dispose()
    {
        // The run was cut short (the test host is stopping): SIGTERM, and the script stops its cluster.
        if (_process is { HasExited: false } process)
        {
            Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])?.WaitForExit();
            process.WaitForExit(TimeSpan.FromMinutes(3));
        }

        _process?.Dispose();
        _directory.Dispose();
    }

    private async Task<(int Code, string Output)> StartAsync()
    {
        // Seed 5 draws a kill first, then a pause: both kinds land within the five minutes. The process tests load
        // the machine unevenly meanwhile, so the step-rate check (a queue that grows slows every step) allows the
        // last tenth of the steps to run at 40% of the first tenth's rate, not the full soak's 70%.
        string[] args =
        [
            "--minutes", "5", "--fault-every", "45", "--coordinators", "2", "--coordinator-fault-every", "120",
            "--seed", "5", "--sample-every", "15", "--warmup", "45", "--throughput-floor", "0.4", "--out", Output,
            "--coordinator-exe", Path.Combine(AppContext.BaseDirectory, "rnncluster.dll"),
            "--worker-exe", Path.Combine(AppContext.BaseDirectory, "rnncluster-worker.dll"),
        ];
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(RepositoryRoot.Path, "bench", "soak.sh"));
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        var process = Process.Start(info)!;
        _process = process;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(Limit).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])?.WaitForExit();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3)).ConfigureAwait(false);
            throw new TimeoutException($"bench/soak.sh ran past {Limit.TotalMinutes} minutes:\n{await stdout.ConfigureAwait(false)}{await stderr.ConfigureAwait(false)}\n{Tails(Output)}\n{Keep(Output)}");
        }

        return (process.ExitCode, await stdout.ConfigureAwait(false) + await stderr.ConfigureAwait(false));
    }

    /// <summary>The end of the fault log and of every node's log: the directory is gone once the test ends.</summary>
    public static string Tails(string output)
    {
        var logs = Path.Combine(output, "run", "logs");
        string[] nodes = Directory.Exists(logs) ? [.. Directory.GetFiles(logs, "*.log").Order(StringComparer.Ordinal)] : [];
        string[] files = [Path.Combine(output, "faults.log"), .. nodes];
        var tails = files.Where(File.Exists).Select(f => $"--- last lines of {Path.GetFileName(f)}:\n{string.Join('\n', File.ReadLines(f).TakeLast(25))}");
        // An error mid-run (a coordinator restarted by its supervisor) is far from a log's end: each with what follows it.
        var errors = nodes.Select(f => (File: f, Lines: File.ReadAllLines(f)))
            .SelectMany(n => n.Lines.Select((l, i) => (n.File, n.Lines, Index: i, Line: l)))
            .Where(l => l.Line.StartsWith("error:", StringComparison.Ordinal) || l.Line.Contains("[ERROR]", StringComparison.Ordinal))
            .Take(10)
            .Select(l => $"--- {Path.GetFileName(l.File)} line {l.Index + 1}:\n{string.Join('\n', l.Lines.Skip(l.Index).Take(8))}");
        return string.Join('\n', tails.Concat(errors));
    }

    /// <summary>Copies the soak's output (logs, faults, verdict) under artifacts/test-results, where it outlives the test's directory.</summary>
    public static string Keep(string output)
    {
        var kept = Path.Combine(RepositoryRoot.Path, "artifacts", "test-results", "soak");
        try
        {
            if (Directory.Exists(kept))
            {
                Directory.Delete(kept, recursive: true);
            }

            foreach (var file in Directory.EnumerateFiles(output, "*", SearchOption.AllDirectories).Where(f => !f.Contains("/checkpoints/", StringComparison.Ordinal)))
            {
                var target = Path.Combine(kept, Path.GetRelativePath(output, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }

            return $"the soak's logs are kept in {kept}";
        }
        catch (IOException e)
        {
            return $"the soak's logs could not be kept in {kept}: {e.Message}";
        }
    }
}
