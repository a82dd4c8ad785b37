using Microsoft.Extensions.Logging;
using RnnCluster.Torch;

namespace RnnCluster.Training;

/// <summary>What a trainer needs from its host: clock, logging and an optional progress observer.</summary>
public sealed record TrainerServices(TimeProvider Time, ILoggerFactory LoggerFactory, ITrainingObserver? Observer = null)
{
    /// <summary>
    /// Test-only (null in production): runs on the training loop's master model once it is built (and resumed),
    /// before the first step — e.g. poisons a token's parameters so every window that reads it has a
    /// non-finite loss, the way bad data would, in every replica the master's parameters reach.
    /// </summary>
    public Action<TorchModel>? PrepareMaster { get; init; }
}
