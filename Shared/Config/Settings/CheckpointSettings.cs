namespace RnnCluster.Config;

/// <summary><c>checkpoint.*</c>: how often state is saved and how many saves are kept.</summary>
public sealed record CheckpointSettings
{
    public static CheckpointSettings Default { get; } = new();

    /// <summary>0 = only at epoch ends and at the end of the run.</summary>
    public int EverySteps { get; init; } = 500;

    public int KeepLast { get; init; } = 3;

    /// <summary>Also keep the checkpoint with the best validation loss, even when older than the last ones.</summary>
    public bool KeepBest { get; init; } = true;

    /// <summary>A checkpoint that cannot be written (disk full, read-only, I/O error): stop the run (default) or train on and retry at the next one.</summary>
    public CheckpointFailurePolicy OnFailure { get; init; } = CheckpointFailurePolicy.Stop;

    public static CheckpointSettings Bind(ConfigSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        return new()
        {
            EverySteps = section.GetInt("every-steps", Default.EverySteps, ValueRange.NonNegative),
            KeepLast = section.GetInt("keep-last", Default.KeepLast, ValueRange.AtLeast(1)),
            KeepBest = section.GetBoolean("keep-best", Default.KeepBest),
            OnFailure = section.GetEnum("on-failure", Default.OnFailure, SettingNames.CheckpointFailurePolicies),
        };
    }

    public void Write(HoconWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write("every-steps", EverySteps);
        writer.Write("keep-last", KeepLast);
        writer.Write("keep-best", KeepBest);
        writer.WriteName("on-failure", SettingNames.CheckpointFailurePolicies.ToName(OnFailure));
    }
}
