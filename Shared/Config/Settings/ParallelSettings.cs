namespace RnnCluster.Config;

/// <summary><c>parallel.*</c>: data-parallel training with worker actors in one process.</summary>
public sealed record ParallelSettings
{
    public static ParallelSettings Default { get; } = new();

    /// <summary>Worker actors, each with a model replica and a contiguous range of streams; 0 = the single-replica trainer, no actors.</summary>
    public int Workers { get; init; } = 2;

    /// <summary>A step slower than this triggers the straggler policy; 0 = no deadline.</summary>
    public TimeSpan StepDeadline { get; init; } = TimeSpan.FromSeconds(60);

    public StragglerPolicy StragglerPolicy { get; init; } = StragglerPolicy.Wait;

    /// <summary>A worker that fails this many times within <see cref="FailureWindow"/> is stopped and its streams re-planned.</summary>
    public int MaxWorkerFailures { get; init; } = 3;

    public TimeSpan FailureWindow { get; init; } = TimeSpan.FromMinutes(1);

    public static ParallelSettings Bind(ConfigSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        return new()
        {
            Workers = section.GetInt("workers", Default.Workers, ValueRange.NonNegative),
            StepDeadline = section.GetDuration("step-deadline", Default.StepDeadline, TimeSpan.Zero),
            StragglerPolicy = section.GetEnum("straggler-policy", Default.StragglerPolicy, SettingNames.StragglerPolicies),
            MaxWorkerFailures = section.GetInt("max-worker-failures", Default.MaxWorkerFailures, ValueRange.AtLeast(1)),
            FailureWindow = section.GetDuration("failure-window", Default.FailureWindow, TimeSpan.FromMilliseconds(1)),
        };
    }

    public void Write(HoconWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write("workers", Workers);
        writer.WriteDuration("step-deadline", StepDeadline);
        writer.WriteName("straggler-policy", SettingNames.StragglerPolicies.ToName(StragglerPolicy));
        writer.Write("max-worker-failures", MaxWorkerFailures);
        writer.WriteDuration("failure-window", FailureWindow);
    }
}
