namespace RnnCluster.Training;

/// <summary>
/// Replicas that hold the run's parameters and optimizer state and step themselves (cluster workers that
/// all-reduce their gradients): the loop counts and reports each step with the norm they computed and
/// fetches their copy only when it reads the master (validation, checkpoints, the end of the run).
/// </summary>
/// <param name="fetch">A copy of the parameters and optimizer state after the given step, from one replica.</param>
public sealed class RemoteReplicas(Func<long, CancellationToken, Task<Parallel.ReplicaCopy>> fetch)
{
    public Func<long, CancellationToken, Task<Parallel.ReplicaCopy>> Fetch { get; } = fetch ?? throw new ArgumentNullException(nameof(fetch));

    /// <summary>The norm of the step being completed, as the replicas computed it (set before completing it).</summary>
    public double Norm { get; set; } = double.NaN;
}
