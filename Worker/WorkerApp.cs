using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using RnnCluster.Actors;
using RnnCluster.Cluster;
using RnnCluster.Common;
using RnnCluster.Config;
using RnnCluster.DataPlane;
using RnnCluster.Torch;
using RnnCluster.Training;
using RnnCluster.Training.Cluster;

namespace RnnCluster.Worker;

/// <summary>
/// <c>rnncluster-worker</c>: joins a cluster run through its seeds, hosts the model replica the
/// coordinator asks for, and computes windows until the run finishes (exit 0). SIGTERM leaves
/// gracefully (exit 0). Seeds that never admit it, or a coordinator that stays away longer than
/// <c>cluster.join-timeout</c>, end it with one error line naming the seeds (exit 1). When the
/// coordinator downs it (it was paused or cut off too long), it rejoins as a new incarnation.
/// </summary>
public static class WorkerApp
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitUsage = 2;

    private static readonly TimeSpan LeaveTimeout = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var config = new Option<FileInfo?>("--config") { Description = "HOCON settings file, usually the cluster's shared cluster.hocon (default: built-in defaults)" };
        var seeds = new Option<string[]>("--seed") { Description = "host:port of a node to join through, normally the coordinator (repeatable; adds to cluster.seeds)", Arity = ArgumentArity.ZeroOrMore };
        var host = new Option<string?>("--host") { Description = "address this worker binds and the coordinator reaches it at (cluster.host; default 127.0.0.1)" };
        var port = new Option<int?>("--port") { Description = "port this worker binds (cluster.port; default here: 0 = any free port)" };
        var set = new Option<string[]>("--set") { Description = "override one setting, e.g. --set runtime.threads=4 (repeatable; after RNNCLUSTER_SET)", Arity = ArgumentArity.ZeroOrMore };
        var version = new Option<bool>("--version-info") { Description = "print the libtorch and TorchSharp build and exit" };
        var root = new RootCommand("rnncluster-worker: join an RnnCluster run (started with 'rnncluster train --cluster') and compute its windows. Needs no data: the coordinator sends the token windows and the model.")
        {
            config, seeds, host, port, set, version,
        };
        root.SetAction(async (parse, ct) =>
        {
            if (parse.GetValue(version))
            {
                await output.WriteLineAsync(TorchRuntime.BuildInfo).ConfigureAwait(false);
                return ExitOk;
            }

            var overrides = new List<string>(ConfigOverrides.FromEnvironment());
            // A worker's default port is "any": only the coordinator needs a known one.
            overrides.Insert(0, "cluster.port=0");
            overrides.AddRange(parse.GetValue(set) ?? []);
            if (parse.GetValue(host) is { } h)
            {
                overrides.Add($"cluster.host=\"{h}\"");
            }

            if (parse.GetValue(port) is { } p)
            {
                overrides.Add($"cluster.port={p.ToString(CultureInfo.InvariantCulture)}");
            }

            var settings = ConfigLoader.Load(parse.GetValue(config)?.FullName, overrides);
            var seedList = new List<SeedAddress>();
            foreach (var text in settings.Cluster.Seeds.Concat(parse.GetValue(seeds) ?? []))
            {
                seedList.Add(SeedAddress.TryParse(text, out var seed) ? seed : throw new ConfigException($"--seed '{text}': expected host:port"));
            }

            if (seedList.Count == 0)
            {
                throw new ConfigException("no seed to join: pass --seed HOST:PORT (the coordinator's cluster.host:cluster.port) or set cluster.seeds");
            }

            return await RunWorkerAsync(settings, seedList, output, error, ct).ConfigureAwait(false);
        });

        var parse = root.Parse(args);
        try
        {
            var code = await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null }, cancellationToken).ConfigureAwait(false);
            return parse.Errors.Count > 0 ? ExitUsage : code;
        }
        catch (Exception e) when (e is ConfigException or TorchException or TorchUnavailableException or ClusterSecretException or RnnCluster.DataPlane.Transport.TlsConfigurationException or IOException or UnauthorizedAccessException
            || TorchRuntime.DescribeFailure(e) is not null)
        {
            await error.WriteLineAsync("error: " + (TorchRuntime.DescribeFailure(e) ?? e.Message)).ConfigureAwait(false);
            return e is ConfigException ? ExitUsage : ExitFailure;
        }
    }

    private static async Task<int> RunWorkerAsync(RnnClusterSettings settings, IReadOnlyList<SeedAddress> seeds, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        TorchRuntime.EnsureLoaded();
        TorchRuntime.SetThreads(TrainingSetup.Threads(settings.Runtime));
        var time = TimeProvider.System;
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(new LineLoggerProvider(error, LogLevel.Information)).SetMinimumLevel(LogLevel.Information));
        var registry = ClusterProtocol.CreateRegistry();
        ulong incarnation = 0;
        while (true)
        {
            incarnation = ClusterNodeOptions.NewIncarnation(time, incarnation);
            var options = new ClusterNodeOptions
            {
                Settings = settings.Cluster,
                Role = ClusterNodeOptions.WorkerRole,
                Seeds = seeds,
                Incarnation = incarnation,
                Device = settings.Runtime.Device,
                Threads = TorchRuntime.Threads,
                TestFaults = ClusterNodeOptions.FaultsFrom(settings.Cluster),
            };
            var node = await ClusterNode.StartAsync(options, registry, loggerFactory, time, cancellationToken).ConfigureAwait(false);
            await using (node.ConfigureAwait(false))
            {
                var events = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
                var listener = node.System.ActorOf(Props.Create(() => new OutcomeListener(events)), "outcome");
                node.System.ActorOf(Props.Create(() => new WorkerNodeAgent(settings.Runtime, time, loggerFactory)), "node");
                await output.WriteLineAsync($"worker {node.Identity.Address} (incarnation {incarnation}) joining through {string.Join(", ", seeds)}").ConfigureAwait(false);
                object outcome;
                try
                {
                    outcome = await events.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    // SIGTERM: leave, so the coordinator re-plans at once instead of waiting for the detector.
                    var left = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
                    listener.Tell(new OutcomeListener.Replace(left), null);
                    node.Daemon.Tell(LeaveCluster.Instance, null);
                    var done = await Task.WhenAny(left.Task, Task.Delay(LeaveTimeout, time, CancellationToken.None)).ConfigureAwait(false);
                    await output.WriteLineAsync(done == left.Task ? "left the cluster" : $"left without the coordinator's acknowledgement (none within {LeaveTimeout.TotalSeconds:0} s)").ConfigureAwait(false);
                    return ExitOk;
                }

                switch (outcome)
                {
                    case ClusterRunFinished finished:
                        await output.WriteLineAsync($"the coordinator finished the run ({finished.Message}); exiting").ConfigureAwait(false);
                        return ExitOk;
                    case JoinFailed failed:
                        await error.WriteLineAsync("error: " + failed.Message).ConfigureAwait(false);
                        return ExitFailure;
                    case DownedByLeader downed:
                        await output.WriteLineAsync($"downed by the coordinator ({downed.Reason}); rejoining as a new incarnation").ConfigureAwait(false);
                        break;
                    default:
                        await error.WriteLineAsync($"error: unexpected cluster event {outcome}").ConfigureAwait(false);
                        return ExitFailure;
                }
            }
        }
    }

    /// <summary>Completes the host's task with the first event that ends this incarnation.</summary>
    private sealed class OutcomeListener : ReceiveActor
    {
        private TaskCompletionSource<object> _outcome;

        public OutcomeListener(TaskCompletionSource<object> outcome)
        {
            _outcome = outcome;
            Receive<JoinedCluster>(_ => { });
            Receive<JoinFailed>(e => _outcome.TrySetResult(e));
            Receive<DownedByLeader>(e => _outcome.TrySetResult(e));
            Receive<ClusterRunFinished>(e => _outcome.TrySetResult(e));
            Receive<LeftCluster>(e => _outcome.TrySetResult(e));
            Receive<Replace>(r => _outcome = r.Outcome);
        }

        protected override void PreStart()
        {
            Context.System.EventStream.Subscribe<JoinFailed>(Self);
            Context.System.EventStream.Subscribe<DownedByLeader>(Self);
            Context.System.EventStream.Subscribe<ClusterRunFinished>(Self);
            Context.System.EventStream.Subscribe<LeftCluster>(Self);
        }

        public sealed record Replace(TaskCompletionSource<object> Outcome);
    }
}
