using System.Globalization;
using RnnCluster.Tests.Support;

namespace RnnCluster.Tests.Cluster.Processes;

/// <summary>
/// A coordinator and workers as separate processes on 127.0.0.1, as <c>deploy/local-cluster.sh</c>
/// starts them: the same executables and command lines. Disposing kills whatever still runs.
/// </summary>
internal sealed class LocalCluster : IAsyncDisposable
{
    /// <summary>Process start, libtorch load and a few hundred tiny steps fit comfortably in this.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    /// <summary>How much of the other nodes' output a failure message shows.</summary>
    private const int NeighbourLines = 40;

    private readonly List<NodeProcess> _nodes = [];
    private readonly string[] _settings;
    private int _workers;

    /// <summary>
    /// For a run compared bit for bit with one in process and disturbed by nothing on purpose: the failure
    /// detector's patience raised so a loaded machine's late heartbeats cannot take a worker out of the plan.
    /// A re-planned step is right (within float tolerance) but sums in another order, so not bit-identical.
    /// </summary>
    public const string PatientDetector = "cluster.acceptable-heartbeat-pause=20s";

    public LocalCluster(TempDirectory directory, params string[] settings)
    {
        Directory = directory;
        Port = NodeProcess.FreePort();
        _settings = settings;
    }

    public TempDirectory Directory { get; }

    public int Port { get; }

    /// <summary>The port of the standby coordinator, once one was started; workers list it as a seed too.</summary>
    public int? StandbyPort { get; private set; }

    /// <summary>Settings every process gets, coordinators and workers, read when each one starts.</summary>
    public List<string> EveryNode { get; } = [];

    /// <summary>Extra environment of coordinator processes (e.g. the test-only transport faults).</summary>
    public Dictionary<string, string> CoordinatorEnvironment { get; } = [];

    public string RunDirectory => Directory.Combine("run");

    /// <summary>Settings both sides get: a tiny LSTM on builtin:agreement, dropout off, one thread per process.</summary>
    public static string[] TinyRun(int maxSteps, params string[] extra) =>
    [
        "model.layers=1", "model.hidden-size=16", "model.embedding-size=16",
        "model.dropout.embedding=0", "model.dropout.between-layers=0", "model.dropout.output=0",
        "data.builtin.sentences=300", "data.bptt=10", "data.batch-size=8", "runtime.threads=1",
        "training.optimizer=sgd", "training.learning-rate=1", "training.clip-norm=0.5",
        $"training.max-steps={maxSteps.ToString(CultureInfo.InvariantCulture)}", "training.log-every-steps=1",
        "checkpoint.every-steps=0", .. extra,
    ];

    /// <summary>
    /// A tiny run whose coordinator holds each window 30 ms in its transport (the test-only delay): the
    /// run is surely still going when a test's fault lands, however fast the machine is.
    /// </summary>
    public static LocalCluster WithDelayedWindows(TempDirectory directory, int maxSteps, params string[] extra)
    {
        var cluster = new LocalCluster(directory, TinyRun(maxSteps, [.. extra, "cluster.test-faults=true"]));
        cluster.CoordinatorEnvironment["RNNCLUSTER_FAULTS"] = "delay=30ms";
        return cluster;
    }

    public NodeProcess StartCoordinator(params string[] extra) => Track(StartCoordinatorProcess("coordinator", extra));

    private NodeProcess StartCoordinatorProcess(string name, params string[] extra)
    {
        List<string> args = ["train", "--cluster", "--plain", "--sample-length", "0", "--run-dir", RunDirectory];
        foreach (var s in _settings.Concat(EveryNode).Concat([$"cluster.port={Port}"]).Concat(extra))
        {
            args.Add("--set");
            args.Add(s);
        }

        return NodeProcess.Start(name, "rnncluster.dll", args, Directory.Path, CoordinatorEnvironment);
    }

    /// <summary>
    /// A second coordinator-eligible node on the same run directory: it joins the first and stands by; the
    /// coordinator singleton moves to it when the first one's node crashes or leaves. Start it before the workers.
    /// </summary>
    public NodeProcess StartStandbyCoordinator()
    {
        StandbyPort = NodeProcess.FreePort();
        return Track(StartCoordinatorProcess("coordinator-2", $"cluster.port={StandbyPort}", $"cluster.seeds=[\"127.0.0.1:{Port}\"]"));
    }

    /// <summary>Starts the coordinator, waits until it listens, then starts <paramref name="workers"/> workers.</summary>
    public async Task<(NodeProcess Coordinator, NodeProcess[] Workers)> StartAsync(int workers)
    {
        var coordinator = StartCoordinator();
        await coordinator.WaitForLineAsync("coordinator listening at", Patience);
        return (coordinator, [.. Enumerable.Range(0, workers).Select(_ => StartWorker())]);
    }

    public NodeProcess StartWorker(params string[] extra) => StartWorker(null, extra);

    /// <summary>Starts a worker with extra environment (e.g. its own test-only transport faults).</summary>
    public NodeProcess StartWorker(IReadOnlyDictionary<string, string>? environment, params string[] extra)
    {
        List<string> args = ["--seed", $"127.0.0.1:{Port}", "--set", "runtime.threads=1"];
        if (StandbyPort is { } standby)
        {
            args.InsertRange(0, ["--seed", $"127.0.0.1:{standby}"]);
        }

        foreach (var s in EveryNode.Concat(extra))
        {
            args.Add("--set");
            args.Add(s);
        }

        return Track(NodeProcess.Start($"worker-{++_workers}", "rnncluster-worker.dll", args, Directory.Path, environment));
    }

    /// <summary>Waits (within <see cref="Patience"/>) for <paramref name="node"/> to exit, and asserts its exit code.</summary>
    public static async Task ExpectExitAsync(NodeProcess node, int code)
    {
        var actual = await node.WaitForExitAsync(Patience);
        Assert.True(actual == code, $"{node.Name} exited {actual}, expected {code}. Its output:\n{node.Report}");
    }

    /// <summary>
    /// Asserts the cluster's parameters are the in-process run's bit for bit; when not, the message says where
    /// they first differ and what the coordinator did to the plan (every generation it formed, and why).
    /// </summary>
    public static void ExpectSameFloats(float[] expected, float[] actual, NodeProcess coordinator)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        ArgumentNullException.ThrowIfNull(coordinator);
        Assert.True(expected.Length == actual.Length, $"{actual.Length} parameters, expected {expected.Length}");
        var first = Enumerable.Range(0, expected.Length).FirstOrDefault(i => BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]), -1);
        if (first < 0)
        {
            return;
        }

        var count = Enumerable.Range(0, expected.Length).Count(i => BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]));
        var plan = coordinator.Output.Split('\n').Where(l => l.Contains("Generation ", StringComparison.Ordinal) || l.Contains("unreachable", StringComparison.Ordinal)
            || l.Contains("abandon", StringComparison.Ordinal) || l.Contains("leaves the plan", StringComparison.Ordinal));
        Assert.Fail($"{count} of {expected.Length} parameters differ from the in-process run; the first, [{first.ToString(CultureInfo.InvariantCulture)}], is "
            + $"{actual[first].ToString("R", CultureInfo.InvariantCulture)}, expected {expected[first].ToString("R", CultureInfo.InvariantCulture)}. "
            + $"The coordinator's plan changes:\n{string.Join('\n', plan)}\nIts output:\n{coordinator.Report}");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
    }

    private NodeProcess Track(NodeProcess node)
    {
        _nodes.Add(node);
        node.Neighbours = () => string.Join('\n', _nodes.Where(n => n != node).Select(n => $"--- last lines of {n.Name}:\n{n.Tail(NeighbourLines)}"));
        return node;
    }
}
