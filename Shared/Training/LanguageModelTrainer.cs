using RnnCluster.Config;
using RnnCluster.Data;
using RnnCluster.Torch;

namespace RnnCluster.Training;

/// <summary>
/// The single-replica trainer: the master model computes every window itself, with all of the
/// machine's threads. The reference the data-parallel actors must match (dropout off).
/// </summary>
public sealed class LanguageModelTrainer : IDisposable
{
    private readonly TrainingLoop _loop;
    private readonly ComputeThread _compute;

    public LanguageModelTrainer(RnnClusterSettings settings, Corpus corpus, string runDirectory, TrainerServices services, string? resumeFrom = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        TorchRuntime.SetThreads(TrainingSetup.Threads(settings.Runtime));
        _loop = new TrainingLoop(settings, corpus, runDirectory, services, resumeFrom);
        _compute = new ComputeThread("rnncluster-trainer"); // after the loop: a failed constructor leaves no thread behind
    }

    /// <summary>The model being trained (for evaluation and sampling after the run).</summary>
    public RnnModel Model => _loop.Master;

    public async Task<RunSummary> RunAsync(CancellationToken cancellationToken)
    {
        var model = _loop.Master;
        _loop.Start();
        while (await _loop.NextWindowAsync(cancellationToken).ConfigureAwait(false) is { } w)
        {
            var r = await _compute.RunAsync(() =>
            {
                model.ZeroGradients();
                return model.ForwardBackward<float>(w.Inputs, w.Targets, w.Length, w.Streams, w.State, w.NextState, train: true, backward: true);
            }).ConfigureAwait(false);
            await _loop.CompleteStepAsync(w, r.LossSum, r.Tokens).ConfigureAwait(false);
        }

        return await _loop.FinishAsync().ConfigureAwait(false);
    }

    public void Dispose()
    {
        _compute.Dispose();
        _loop.Dispose();
    }
}
