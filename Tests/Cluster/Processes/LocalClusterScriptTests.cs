using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Cluster.Processes;

/// <summary>
/// <c>deploy/local-cluster.sh</c> itself, as a user drives it: a detached cluster of two coordinator-eligible
/// nodes and two workers, its <c>status</c> while it trains, a crash of every coordinator at once, and
/// <c>wait</c> for the run's end.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class LocalClusterScriptTests
{
    private const int Steps = 200;
    private static readonly TimeSpan Patience = LocalCluster.Patience;

    [Fact]
    public async Task Status_shows_the_running_cluster_and_after_every_coordinator_crashed_the_restarted_ones_form_the_cluster_again_and_finish_the_run()
    {
        using var dir = new TempDirectory();
        var run = dir.Combine("run");
        string[] settings =
        [
            .. LocalCluster.TinyRun(Steps, "checkpoint.every-steps=20", "cluster.min-workers=2"),
            // Four node processes and the test host on two cores (see ClusterProcessTests' standby tests).
            "cluster.acceptable-heartbeat-pause=8s",
            // A restarted coordinator that finds nobody to join gives up (and is restarted) after this long.
            "cluster.join-timeout=20s",
        ];
        List<string> start =
        [
            "start", "--detach", "-w", "2", "--coordinators", "2", "-p", "0", "-r", run,
            "--coordinator-restarts", "4", "--stop-timeout", "30", "--ready-timeout", "120",
            "--coordinator-exe", Path.Combine(AppContext.BaseDirectory, "rnncluster.dll"),
            "--worker-exe", Path.Combine(AppContext.BaseDirectory, "rnncluster-worker.dll"),
            "--coordinator-set", "cluster.test-faults=true", "--coordinator-set", "monitor.port=0",
        ];
        foreach (var s in settings)
        {
            start.Add("--set");
            start.Add(s);
        }

        try
        {
            // The coordinators hold each window 30 ms (test-only): the crash surely lands mid-run.
            var (started, startOutput) = await RunAsync(start, ("RNNCLUSTER_FAULTS", "delay=30ms"));
            Assert.True(started == 0, $"local-cluster.sh start exited {started}:\n{startOutput}");
            var coordinatorLog = Path.Combine(run, "logs", "coordinator.log");
            await Conditions.AwaitAsync(() => LoggedStep(coordinatorLog) >= 40, Patience, "step 40 in coordinator.log");

            var (statusCode, status) = await RunAsync(["status", "-r", run]);
            Assert.True(statusCode == 0, $"status exited {statusCode}:\n{status}");
            var lines = status.Split('\n');
            Assert.Contains(lines, l => l.StartsWith("coordinator ", StringComparison.Ordinal) && l.Contains("running (pid", StringComparison.Ordinal) && l.EndsWith("active", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("coordinator-2 ", StringComparison.Ordinal) && l.Contains("running (pid", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("worker-1 ", StringComparison.Ordinal) && l.Contains("running (pid", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("launcher ", StringComparison.Ordinal) && l.Contains("running", StringComparison.Ordinal));
            // The active coordinator's /status, read from its monitor: the line after its URL (the standby serves one too).
            var url = Array.FindIndex(lines, l => l.StartsWith("coordinator ", StringComparison.Ordinal) && l.Contains("http://", StringComparison.Ordinal));
            Assert.True(url >= 0 && url + 1 < lines.Length, $"no /status of the coordinator in:\n{status}");
            var json = lines[url + 1];
            using (var body = JsonDocument.Parse(json))
            {
                Assert.Equal("training", body.RootElement.GetProperty("state").GetString());
                Assert.True(body.RootElement.GetProperty("step").GetInt64() >= 40, json);
                Assert.Equal(Steps, body.RootElement.GetProperty("totalSteps").GetInt64());
            }

            // Both, the second once the first is being started again beside it: that restart joins through
            // the second, which then dies too. Before, each restarted one had only the other as its seed and
            // neither could form a cluster (soak finding 3, and again when the first restart saw the second
            // still running).
            var (killedFirst, killFirstOutput) = await RunAsync(["kill", "coordinator", "-r", run]);
            Assert.True(killedFirst == 0, $"kill coordinator exited {killedFirst}:\n{killFirstOutput}");
            // Its second life listens and joins through the seeds (its first one formed the cluster, with none).
            await Conditions.AwaitAsync(
                () => File.ReadAllText(coordinatorLog).Contains("joining through", StringComparison.Ordinal),
                Patience,
                "the restarted coordinator joining through its seeds");
            var (killedSecond, killSecondOutput) = await RunAsync(["kill", "coordinator-2", "-r", run]);
            Assert.True(killedSecond == 0, $"kill coordinator-2 exited {killedSecond}:\n{killSecondOutput}");

            var (waited, waitOutput) = await RunAsync(["wait", "--timeout", "240", "-r", run]);
            var launcher = await File.ReadAllTextAsync(Path.Combine(run, "logs", "launcher.log"));
            Assert.True(waited == 0, $"wait exited {waited}:\n{waitOutput}\nlauncher.log:\n{launcher}\n{LogTails(run, "coordinator", "coordinator-2")}");
            Assert.Contains("coordinator exited with status 137: restarting it", launcher, StringComparison.Ordinal);
            Assert.Contains("coordinator-2 exited with status 137: restarting it", launcher, StringComparison.Ordinal);

            using var summary = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(run, "summary.json")));
            Assert.Equal(Steps, summary.RootElement.GetProperty("steps").GetInt64());
        }
        finally
        {
            // Whatever happened above, no node outlives the test.
            await RunAsync(["stop", "-r", run]);
        }
    }

    /// <summary>The last lines of each node's log (all its lives), for a failure message.</summary>
    private static string LogTails(string run, params string[] nodes)
    {
        var text = new System.Text.StringBuilder();
        foreach (var node in nodes)
        {
            var log = Path.Combine(run, "logs", $"{node}.log");
            var lines = File.Exists(log) ? File.ReadAllLines(log) : [];
            text.Append(CultureInfo.InvariantCulture, $"{node}.log, last {Math.Min(40, lines.Length)} of {lines.Length} lines:\n");
            text.AppendJoin('\n', lines.TakeLast(40)).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>The highest "step N/" a coordinator's log (all its lives) holds so far.</summary>
    private static long LoggedStep(string log)
    {
        if (!File.Exists(log))
        {
            return 0;
        }

        using var stream = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        long step = 0;
        while (reader.ReadLine() is { } line)
        {
            if (line.StartsWith("step ", StringComparison.Ordinal) && line.IndexOf('/', StringComparison.Ordinal) is > 5 and var slash
                && long.TryParse(line.AsSpan(5, slash - 5), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                step = Math.Max(step, n);
            }
        }

        return step;
    }

    private static async Task<(int Code, string Output)> RunAsync(IEnumerable<string> args, params (string Name, string Value)[] environment)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(RepositoryRoot.Path, "deploy", "local-cluster.sh"));
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        return (process.ExitCode, await stdout + await stderr);
    }
}
