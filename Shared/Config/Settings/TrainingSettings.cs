namespace RnnCluster.Config;

/// <summary><c>training.*</c>: optimizer, learning-rate schedule, clipping and run length.</summary>
public sealed record TrainingSettings
{
    public static TrainingSettings Default { get; } = new();

    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Sgd;

    public double LearningRate { get; init; } = 20;

    public double Momentum { get; init; }

    public double WeightDecay { get; init; }

    public double AdamBeta1 { get; init; } = 0.9;

    public double AdamBeta2 { get; init; } = 0.999;

    public double AdamEpsilon { get; init; } = 1e-8;

    /// <summary>Global gradient-norm limit; 0 = no clipping.</summary>
    public double ClipNorm { get; init; } = 0.25;

    public ScheduleKind Schedule { get; init; } = ScheduleKind.Plateau;

    public double PlateauFactor { get; init; } = 0.25;

    public int WarmupSteps { get; init; }

    public double MinLearningRate { get; init; }

    public int Epochs { get; init; } = 6;

    /// <summary>0 = no limit.</summary>
    public long MaxSteps { get; init; }

    /// <summary>Evaluations without improvement before stopping; 0 = never stop early.</summary>
    public int Patience { get; init; }

    /// <summary>0 = evaluate only at epoch ends.</summary>
    public int EvalEverySteps { get; init; }

    public int LogEverySteps { get; init; } = 50;

    /// <summary>Non-finite and spiking steps: skip, roll back, skip data (<c>training.numerics</c>).</summary>
    public NumericsSettings Numerics { get; init; } = NumericsSettings.Default;

    public static TrainingSettings Bind(ConfigSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        return new()
        {
            Optimizer = section.GetEnum("optimizer", Default.Optimizer, SettingNames.Optimizers),
            LearningRate = section.GetDouble("learning-rate", Default.LearningRate, ValueRange.Positive),
            Momentum = section.GetDouble("momentum", Default.Momentum, ValueRange.Fraction),
            WeightDecay = section.GetDouble("weight-decay", Default.WeightDecay, ValueRange.NonNegative),
            AdamBeta1 = section.GetDouble("adam-beta1", Default.AdamBeta1, ValueRange.Fraction),
            AdamBeta2 = section.GetDouble("adam-beta2", Default.AdamBeta2, ValueRange.Fraction),
            AdamEpsilon = section.GetDouble("adam-epsilon", Default.AdamEpsilon, ValueRange.Positive),
            ClipNorm = section.GetDouble("clip-norm", Default.ClipNorm, ValueRange.NonNegative),
            Schedule = section.GetEnum("schedule", Default.Schedule, SettingNames.Schedules),
            PlateauFactor = section.GetDouble("plateau-factor", Default.PlateauFactor, ValueRange.Factor),
            WarmupSteps = section.GetInt("warmup-steps", Default.WarmupSteps, ValueRange.NonNegative),
            MinLearningRate = section.GetDouble("min-learning-rate", Default.MinLearningRate, ValueRange.NonNegative),
            Epochs = section.GetInt("epochs", Default.Epochs, ValueRange.AtLeast(1)),
            MaxSteps = section.GetLong("max-steps", Default.MaxSteps, ValueRange.NonNegative),
            Patience = section.GetInt("patience", Default.Patience, ValueRange.NonNegative),
            EvalEverySteps = section.GetInt("eval-every-steps", Default.EvalEverySteps, ValueRange.NonNegative),
            LogEverySteps = section.GetInt("log-every-steps", Default.LogEverySteps, ValueRange.AtLeast(1)),
            Numerics = section.Bind("numerics", NumericsSettings.Bind),
        };
    }

    public void Write(HoconWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteName("optimizer", SettingNames.Optimizers.ToName(Optimizer));
        writer.Write("learning-rate", LearningRate);
        writer.Write("momentum", Momentum);
        writer.Write("weight-decay", WeightDecay);
        writer.Write("adam-beta1", AdamBeta1);
        writer.Write("adam-beta2", AdamBeta2);
        writer.Write("adam-epsilon", AdamEpsilon);
        writer.Write("clip-norm", ClipNorm);
        writer.WriteName("schedule", SettingNames.Schedules.ToName(Schedule));
        writer.Write("plateau-factor", PlateauFactor);
        writer.Write("warmup-steps", WarmupSteps);
        writer.Write("min-learning-rate", MinLearningRate);
        writer.Write("epochs", Epochs);
        writer.Write("max-steps", MaxSteps);
        writer.Write("patience", Patience);
        writer.Write("eval-every-steps", EvalEverySteps);
        writer.Write("log-every-steps", LogEverySteps);
        writer.Section("numerics", Numerics.Write);
    }
}
