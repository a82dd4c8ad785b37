using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace RnnCluster.Actors;

/// <summary>Everything an <see cref="ActorSystem"/> takes from outside: logging, time, randomness, policies.</summary>
public sealed record ActorSystemOptions
{
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>The clock for timers, the scheduler, Ask timeouts, restart windows and back-off.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// Uniform samples in [0, 1) for restart back-off jitter; called on supervisors' turns, possibly
    /// from several threads, so it must be thread-safe. <c>null</c>: a per-system <see cref="Random"/>
    /// behind a lock. Pass a seeded source for repeatable runs.
    /// </summary>
    public Func<double>? RandomSource { get; init; }

    /// <summary>How the <c>/user</c> guardian supervises top-level actors. Escalate from here terminates the system.</summary>
    public SupervisorStrategy UserGuardianStrategy { get; init; } = SupervisorStrategy.Default;

    /// <summary>
    /// User messages one actor processes per turn before yielding its thread: higher favours
    /// throughput, lower favours fairness between actors.
    /// </summary>
    public int Throughput { get; init; } = 100;

    /// <summary>Host and port of this system's address once remoting is enabled; <c>null</c> for a local system.</summary>
    public string? Host { get; init; }

    public int? Port { get; init; }
}
