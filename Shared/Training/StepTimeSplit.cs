namespace RnnCluster.Training;

/// <summary>
/// Where a data-parallel step's time goes, summed over steps: parameter broadcast (snapshot and
/// dispatch), compute (the slowest worker's forward/backward), gradient transfer (the slowest
/// worker's copy out plus waiting beyond the slowest compute: messaging and scheduling), averaging
/// (the ordered sum into the master) and apply (clip, optimizer step, logging, checkpoint copies).
/// </summary>
public sealed class StepTimeSplit
{
    public long Steps { get; set; }

    public double BroadcastSeconds { get; set; }

    public double ComputeSeconds { get; set; }

    public double TransferSeconds { get; set; }

    public double AveragingSeconds { get; set; }

    public double ApplySeconds { get; set; }

    public IReadOnlyDictionary<string, double> PerStepMilliseconds()
    {
        double Ms(double seconds) => Steps == 0 ? 0 : 1000 * seconds / Steps;
        return new Dictionary<string, double>
        {
            ["broadcast"] = Ms(BroadcastSeconds),
            ["compute"] = Ms(ComputeSeconds),
            ["transfer"] = Ms(TransferSeconds),
            ["averaging"] = Ms(AveragingSeconds),
            ["apply"] = Ms(ApplySeconds),
        };
    }
}
