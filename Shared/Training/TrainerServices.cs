using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace RnnCluster.Training;

/// <summary>What a trainer needs from its host: clock, logging and an optional progress observer.</summary>
public sealed record TrainerServices(TimeProvider Time, ILoggerFactory LoggerFactory, ITrainingObserver? Observer = null)
{
    public static TrainerServices Default { get; } = new(TimeProvider.System, NullLoggerFactory.Instance);
}
