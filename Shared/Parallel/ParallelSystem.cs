using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Hosting.Logging;
using Microsoft.Extensions.Logging;

namespace RnnCluster.Parallel;

/// <summary>The actor system of a data-parallel run in one process, logging through the run's <see cref="ILoggerFactory"/>.</summary>
public static class ParallelSystem
{
    /// <summary>
    /// A thread of its own for the coordinator: it runs the optimizer step and checkpoints, and libtorch
    /// keeps its thread team warm on one thread (on the pool every call could land on a cold one). The
    /// thread sleeps as soon as it is idle (<see cref="DedicatedThreadExecutorConfigurator"/>).
    /// </summary>
    public const string CoordinatorDispatcher = "rnncluster.coordinator-dispatcher";

    /// <summary>
    /// What every actor system of ours has, in one process or on a cluster node: quiet shutdowns, the
    /// coordinator's dispatcher, and SIGTERM left to the trainer (it stops at a step boundary and
    /// checkpoints). The logger is set by <see cref="Create(string, ILoggerFactory, Akka.Configuration.Config?, Setup?)"/>.
    /// Each setting that quiets a message says why that message tells a user nothing.
    /// </summary>
    internal static readonly Akka.Configuration.Config Defaults = ConfigurationFactory.ParseString(
        """
        akka {
          loglevel = INFO
          stdout-loglevel = WARNING
          # Messages still in flight when the system stops (replies, cluster gossip) are expected then.
          log-dead-letters-during-shutdown = off
          coordinated-shutdown.run-by-clr-shutdown-hook = off
          # Akka.NET 1.5.75's proxy starts its "failed to find the singleton after 30 seconds" timer
          # with no initial delay, so it warns at once each time it starts looking: when a worker
          # joins, and again when the coordinator leaves at the end of a run. A coordinator that is
          # really missing is reported by the worker itself: it exits 3 naming its seeds after
          # cluster.join-timeout (WorkerNode).
          cluster.singleton-proxy.log-singleton-identification-failure = off
          # Our timers are step deadlines (60 s by default) and retries of a second or more, which may
          # fire one tick late; Akka's 10 ms tick woke two threads 100 times a second for them (a
          # cluster node derives its tick from the heartbeat: ClusterSystem).
          scheduler.tick-duration = 50ms
        }
        # One dedicated thread that blocks when idle (Akka's PinnedDispatcher spins first: DedicatedThreadExecutor).
        rnncluster.coordinator-dispatcher {
          type = Dispatcher
          executor = "RnnCluster.Parallel.DedicatedThreadExecutorConfigurator, RnnCluster.Shared"
        }
        """);

    /// <summary>An actor system named <paramref name="name"/> whose own log goes to <paramref name="loggerFactory"/>.</summary>
    /// <param name="config">Settings laid over <see cref="Defaults"/> (a cluster node's), or none.</param>
    /// <param name="setup">A setup that has no HOCON form (a cluster node's TLS certificate), or none.</param>
    public static ActorSystem Create(string name, ILoggerFactory loggerFactory, Akka.Configuration.Config? config = null, Setup? setup = null)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        // Set here, with the setup that logger needs, so no configuration can lose it.
        var logging = ConfigurationFactory.ParseString("""akka.loggers = ["Akka.Hosting.Logging.LoggerFactoryLogger, Akka.Hosting"]""");
        var settings = logging.WithFallback(config ?? Akka.Configuration.Config.Empty).WithFallback(Defaults);
        var setups = BootstrapSetup.Create().WithConfig(settings).And(new LoggerFactorySetup(loggerFactory));
        return ActorSystem.Create(name, setup is null ? setups : setups.And(setup));
    }
}
