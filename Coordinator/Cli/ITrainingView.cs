using RnnCluster.Training;

namespace RnnCluster.Coordinator.Cli;

/// <summary>Shows a training run while it goes: a live display on a terminal, plain lines otherwise.</summary>
internal interface ITrainingView : ITrainingObserver
{
    Task<RunSummary> RunAsync(Func<Task<RunSummary>> run);
}
