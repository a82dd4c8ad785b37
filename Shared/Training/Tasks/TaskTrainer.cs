using RnnCluster.Config;
using RnnCluster.Data.Tasks;
using RnnCluster.Torch;


namespace RnnCluster.Training.Tasks;

/// <summary>
/// The single-replica task trainer (<c>parallel.workers = 0</c>): the master model computes every batch
/// itself, with all of the machine's threads. Dropout masks are seeded per step as a worker seeds them,
/// so it matches the data-parallel run on one worker exactly.
/// </summary>
public sealed class TaskTrainer : IDisposable
{
    private readonly TaskTrainingLoop _loop;
    private readonly ComputeThread _compute;

    public TaskTrainer(RnnClusterSettings settings, TaskDataset data, string runDirectory, TrainerServices services, string? resumeFrom = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        TorchRuntime.SetThreads(TrainingSetup.Threads(settings.Runtime));
        _loop = new TaskTrainingLoop(settings, data, runDirectory, services, resumeFrom);
        _compute = new ComputeThread("rnncluster-trainer"); // after the loop: a failed constructor leaves no thread behind
    }

    /// <summary>The model being trained.</summary>
    public TorchModel Model => _loop.Master;

    public async Task<RunSummary> RunAsync(CancellationToken cancellationToken)
    {
        var model = _loop.Master;
        var seed = _loop.MasterOptions.Seed;
        _loop.Start();
        while (await _loop.NextStepAsync(cancellationToken).ConfigureAwait(false) is TaskStep step)
        {
            var r = await _compute.RunAsync(() =>
            {
                model.Reseed(DropoutSeeds.For(seed, step.Step, 0));
                model.ZeroGradients();
                return TaskShard.From(step.Batch).Compute(model, train: true, backward: true);
            }).ConfigureAwait(false);
            await _loop.CompleteStepAsync(step, r.LossSum, r.Count).ConfigureAwait(false);
        }

        return await _loop.FinishAsync().ConfigureAwait(false);
    }

    public void Dispose()
    {
        _compute.Dispose();
        _loop.Dispose();
    }
}
