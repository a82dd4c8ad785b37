namespace RnnCluster.Model.Checkpoints;

/// <summary>
/// A checkpoint or safetensors file could not be written, read or trusted. The message always names
/// the file or directory at fault, because the reader of the message is an operator deciding which
/// checkpoint to delete or resume from.
/// </summary>
public sealed class CheckpointException : Exception
{
    public CheckpointException()
    {
    }

    public CheckpointException(string message)
        : base(message)
    {
    }

    public CheckpointException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Another trainer holds the run directory's lock (waiting may help: a coordinator taking over waits for its predecessor).</summary>
    public bool RunDirectoryInUse { get; init; }
}
