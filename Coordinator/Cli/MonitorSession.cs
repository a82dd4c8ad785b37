using Microsoft.Extensions.Logging;
using RnnCluster.Config;
using RnnCluster.Monitoring;
using RnnCluster.Training;

namespace RnnCluster.Coordinator.Cli;

/// <summary>
/// A run's monitor and its HTTP server, for as long as <c>train</c> runs: started before the trainer, told
/// when the trainer returns or throws, stopped when the command ends.
/// </summary>
internal sealed class MonitorSession : IAsyncDisposable
{
    private readonly MonitorServer _server;

    private MonitorSession(RunMonitor monitor, MonitorServer server)
    {
        Monitor = monitor;
        _server = server;
    }

    public RunMonitor Monitor { get; }

    public Uri Address => _server.Address;

    /// <summary>
    /// The session when <c>monitor.*</c> or <c>--dashboard</c> asks for one and its port is free; null otherwise
    /// (a taken port has been reported as one warning line). Prints <c>dashboard: URL</c> when serving.
    /// </summary>
    public static async Task<MonitorSession?> StartAsync(TrainRequest request, RnnClusterSettings settings, string runDirectory, string task, ILoggerFactory loggerFactory, CliConsole console, CancellationToken cancellationToken)
    {
        if (!settings.Monitor.Serves(request.Cluster, request.Dashboard))
        {
            return null;
        }

        var mode = request.Cluster ? "cluster" : settings.Parallel.Workers == 0 ? "single" : "parallel";
        var monitor = new RunMonitor(runDirectory, mode, task, TimeProvider.System);
        var server = await MonitorServer.TryStartAsync(monitor, new MonitorServerOptions(settings.Monitor.Host, settings.Monitor.Port), loggerFactory, cancellationToken).ConfigureAwait(false);
        if (server is null)
        {
            return null;
        }

        await console.Out.WriteLineAsync($"dashboard: {server.Address}").ConfigureAwait(false);
        return new MonitorSession(monitor, server);
    }

    /// <summary>The view alone, or the view and the monitor together.</summary>
    public static ITrainingObserver Observer(ITrainingView view, MonitorSession? session) =>
        session is null ? view : new CompositeTrainingObserver(view, session.Monitor);

    /// <summary>Runs the trainer and tells the monitor how it ended (<c>/ready</c> turns 503).</summary>
    public static async Task<RunSummary> TrackAsync(MonitorSession? session, Func<Task<RunSummary>> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        try
        {
            var summary = await run().ConfigureAwait(false);
            session?.Monitor.Finished();
            return summary;
        }
        catch (Exception e)
        {
            session?.Monitor.Finished(e.Message);
            throw;
        }
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
