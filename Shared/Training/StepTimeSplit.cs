using RnnCluster.Training.Parallel;

namespace RnnCluster.Training;

/// <summary>
/// Where a data-parallel step's time goes, summed over steps: parameter broadcast (snapshot and
/// dispatch), compute (the slowest worker's forward/backward), gradient transfer (the slowest
/// worker's copy out plus waiting beyond the slowest compute: messaging and scheduling), averaging
/// (the ordered sum into the master) and apply (clip, optimizer step, logging, checkpoint copies).
/// With an all-reduce among the workers, peer wait is the part of transfer that the worker with the
/// longest transfer spent waiting for the other members to finish their backward (their compute, which
/// a faster worker sees as transfer); transfer less peer wait is the all-reduce's own exposed time.
/// The coordinator works it out from the replies (<see cref="PeerWait"/>): no reduction after backward
/// waits for the slowest member alone any more, so no worker can time it.
/// </summary>
public sealed class StepTimeSplit
{
    public long Steps { get; set; }

    public double BroadcastSeconds { get; set; }

    public double ComputeSeconds { get; set; }

    public double TransferSeconds { get; set; }

    /// <summary>The part of <see cref="TransferSeconds"/> spent waiting for a slower peer's compute (all-reduce; 0 otherwise).</summary>
    public double PeerWaitSeconds { get; set; }

    public double AveragingSeconds { get; set; }

    public double ApplySeconds { get; set; }

    /// <summary>
    /// One all-reduce step's peer wait: how much later than the worker with the longest transfer the slowest
    /// worker ended its backward, which the former spent waiting for that peer's contributions, at most its
    /// whole transfer. Each reply times its compute from when its command arrived, and the coordinator sends
    /// a step's commands together, so the difference of compute times is the difference of end times to
    /// within the spread of the commands' arrivals.
    /// </summary>
    public static double PeerWait(IReadOnlyCollection<WindowGradients> replies)
    {
        ArgumentNullException.ThrowIfNull(replies);
        if (replies.Count == 0)
        {
            return 0;
        }

        var slowest = replies.Max(g => g.ComputeSeconds);
        var longestCopy = replies.MaxBy(g => g.CopySeconds)!;
        return Math.Clamp(slowest - longestCopy.ComputeSeconds, 0, longestCopy.CopySeconds);
    }

    public IReadOnlyDictionary<string, double> PerStepMilliseconds()
    {
        double Ms(double seconds) => Steps == 0 ? 0 : 1000 * seconds / Steps;
        return new Dictionary<string, double>
        {
            ["broadcast"] = Ms(BroadcastSeconds),
            ["compute"] = Ms(ComputeSeconds),
            ["transfer"] = Ms(TransferSeconds),
            ["peerWait"] = Ms(PeerWaitSeconds),
            ["averaging"] = Ms(AveragingSeconds),
            ["apply"] = Ms(ApplySeconds),
        };
    }
}
