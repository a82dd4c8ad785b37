using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;

using RnnCluster.Parallel.Cluster;
using RnnCluster.Common;
using RnnCluster.Config;
using RnnCluster.DataPlane;
using RnnCluster.Torch;
using RnnCluster.Training;

namespace RnnCluster.Worker;

/// <summary>
/// <c>rnncluster-worker</c>: joins a cluster run through its seeds, hosts the model replica the
/// coordinator asks for, and computes windows until the run finishes (exit 0). SIGTERM leaves
/// gracefully (exit 0). Seeds that never admit it, or a coordinator that stays away longer than
/// <c>cluster.join-timeout</c>, end it with one error line (exit 1). When the cluster downs it (it was
/// paused or cut off too long) it exits 1 too: a downed Akka.NET node never rejoins, so its launcher
/// (deploy/local-cluster.sh, systemd, Kubernetes) starts it again as a new incarnation.
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

            if (seedList.Count == 0 && !settings.Cluster.Discovery.UsesBootstrap)
            {
                throw new ConfigException("no seed to join: pass --seed HOST:PORT (the coordinator's cluster.host:cluster.port), set cluster.seeds, or find the cluster with cluster.discovery.method = config or kubernetes");
            }

            if (seedList.Count > 0 && settings.Cluster.Discovery.UsesBootstrap)
            {
                throw new ConfigException($"--seed {seedList[0]}: not with cluster.discovery.method = {SettingNames.DiscoveryMethods.ToName(settings.Cluster.Discovery.Method)}, which finds the cluster itself");
            }

            return await RunWorkerAsync(settings, seedList, ConfigLoader.LoadAkka(parse.GetValue(config)?.FullName, overrides), output, error, ct).ConfigureAwait(false);
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

    private static async Task<int> RunWorkerAsync(RnnClusterSettings settings, IReadOnlyList<SeedAddress> seeds, Akka.Configuration.Config akka, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        TorchRuntime.EnsureLoaded();
        TorchRuntime.SetThreads(TrainingSetup.Threads(settings.Runtime));
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(new LineLoggerProvider(error, LogLevel.Information)).SetMinimumLevel(LogLevel.Information));
        settings = settings with { Cluster = settings.Cluster with { Seeds = [.. seeds.Select(s => s.ToString())] } };
        var exit = await WorkerHost.RunAsync(
            settings,
            loggerFactory,
            TimeProvider.System,
            (address, incarnation) => output.WriteLine($"worker {address} (incarnation {incarnation}) joining through {ClusterJoin.Describe(settings.Cluster)}"),
            cancellationToken,
            akka).ConfigureAwait(false);
        await (exit.IsError ? error.WriteLineAsync("error: " + exit.Message) : output.WriteLineAsync(exit.Message)).ConfigureAwait(false);
        return exit.Code;
    }
}
