namespace RnnCluster.Config;

/// <summary>What a run does when a checkpoint cannot be written (<c>checkpoint.on-failure</c>).</summary>
public enum CheckpointFailurePolicy
{
    /// <summary>End the run with a non-zero exit, naming the directory and the error; the last good checkpoint stays.</summary>
    Stop,

    /// <summary>Keep training and try again at the next checkpoint; failures are counted and the run never reports them as saved.</summary>
    Continue,
}
