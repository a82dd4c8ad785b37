namespace RnnCluster.Training;

/// <summary>The data-parallel run could not go on; the message says why and that the last checkpoint is intact.</summary>
public sealed class TrainingAbortedException : Exception
{
    public TrainingAbortedException(string message)
        : base(message)
    {
    }

    public TrainingAbortedException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
