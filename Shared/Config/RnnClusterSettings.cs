namespace RnnCluster.Config;

/// <summary>
/// Every setting of a run, resolved from built-in defaults, the file and <c>--set</c> overrides.
/// A section is a sealed record with <c>Bind(ConfigSection)</c> and <c>Write(HoconWriter)</c>;
/// adding one means a property here plus a line in <see cref="Bind"/> and in <see cref="ToHocon"/>.
/// Records compare by value, so a resumed run can check it got the settings it was saved with.
/// </summary>
public sealed record RnnClusterSettings
{
    public static RnnClusterSettings Default { get; } = new();

    public RuntimeSettings Runtime { get; init; } = RuntimeSettings.Default;

    public ModelSettings Model { get; init; } = ModelSettings.Default;

    public DataSettings Data { get; init; } = DataSettings.Default;

    public TrainingSettings Training { get; init; } = TrainingSettings.Default;

    public CheckpointSettings Checkpoint { get; init; } = CheckpointSettings.Default;

    public ParallelSettings Parallel { get; init; } = ParallelSettings.Default;

    public ClusterSettings Cluster { get; init; } = ClusterSettings.Default;

    public MonitorSettings Monitor { get; init; } = MonitorSettings.Default;

    /// <summary>
    /// Binds a read configuration; unknown keys, wrong types and out-of-range values throw
    /// <see cref="ConfigException"/>. The <c>akka</c> section is not part of these settings (it is
    /// per node, read by <see cref="ConfigLoader.LoadAkka"/>) but is checked here too, so a typo in
    /// it stops a run before anything starts.
    /// </summary>
    public static RnnClusterSettings Bind(ConfigTree root) =>
        ConfigSection.BindRoot(root, section =>
        {
            var settings = new RnnClusterSettings
            {
                Runtime = section.Bind("runtime", RuntimeSettings.Bind),
                Model = section.Bind("model", ModelSettings.Bind),
                Data = section.Bind("data", DataSettings.Bind),
                Training = section.Bind("training", TrainingSettings.Bind),
                Checkpoint = section.Bind("checkpoint", CheckpointSettings.Bind),
                Parallel = section.Bind("parallel", ParallelSettings.Bind),
                Cluster = section.Bind("cluster", ClusterSettings.Bind),
                Monitor = section.Bind("monitor", MonitorSettings.Bind),
            };
            if (section.TryGet(AkkaSection.Key, out var akka))
            {
                AkkaSection.Validate(akka);
            }

            return settings;
        });

    /// <summary>Every setting as HOCON, for checkpoints and logs; <see cref="ConfigLoader.LoadText"/> reads it back equal.</summary>
    public string ToHocon()
    {
        var writer = new HoconWriter();
        writer.Comment("RnnCluster settings as resolved for this run (defaults, file and --set overrides).");
        writer.Section("runtime", Runtime.Write);
        writer.Section("model", Model.Write);
        writer.Section("data", Data.Write);
        writer.Section("training", Training.Write);
        writer.Section("checkpoint", Checkpoint.Write);
        writer.Section("parallel", Parallel.Write);
        writer.Section("cluster", Cluster.Write);
        writer.Section("monitor", Monitor.Write);
        return writer.ToString();
    }
}
