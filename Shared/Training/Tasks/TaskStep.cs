using RnnCluster.Data.Tasks;

namespace RnnCluster.Training.Tasks;

/// <summary>One step of a task run: a batch of examples (its rows are split among the workers) and where it is in its epoch.</summary>
public sealed class TaskStep : ITrainingStep
{
    internal TaskStep(long step, int epoch, int index, SequenceBatch batch)
    {
        Step = step;
        Epoch = epoch;
        Index = index;
        Batch = batch;
    }

    public long Step { get; }

    public int Epoch { get; }

    /// <summary>The batch's place in its epoch's order.</summary>
    public int Index { get; }

    public SequenceBatch Batch { get; }
}
