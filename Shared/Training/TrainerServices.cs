using Microsoft.Extensions.Logging;

namespace RnnCluster.Training;

/// <summary>What a trainer needs from its host: clock, logging and an optional progress observer.</summary>
public sealed record TrainerServices(TimeProvider Time, ILoggerFactory LoggerFactory, ITrainingObserver? Observer = null);
