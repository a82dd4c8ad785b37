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
    /// keeps its thread team warm on one thread (on the pool every call could land on a cold one).
    /// </summary>
    public const string CoordinatorDispatcher = "rnncluster.coordinator-dispatcher";

    /// <summary>The coordinator's dispatcher, for every actor system a coordinator may run in.</summary>
    internal static readonly Akka.Configuration.Config DispatcherConfig = ConfigurationFactory.ParseString(
        """
        rnncluster.coordinator-dispatcher {
          type = PinnedDispatcher
          executor = thread-pool-executor
        }
        """);

    private static readonly Akka.Configuration.Config Defaults = ConfigurationFactory.ParseString(
        """
        akka {
          loggers = ["Akka.Hosting.Logging.LoggerFactoryLogger, Akka.Hosting"]
          loglevel = INFO
          stdout-loglevel = WARNING
          log-dead-letters-during-shutdown = off
          # The trainer handles Ctrl+C and SIGTERM itself: it stops at a step boundary and checkpoints.
          coordinated-shutdown.run-by-clr-shutdown-hook = off
        }
        """).WithFallback(DispatcherConfig);

    public static ActorSystem Create(string name, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var setup = BootstrapSetup.Create().WithConfig(Defaults).And(new LoggerFactorySetup(loggerFactory));
        return ActorSystem.Create(name, setup);
    }
}
