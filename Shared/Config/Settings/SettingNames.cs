using RnnCluster.Model;
using RnnCluster.Torch;

namespace RnnCluster.Config;

/// <summary>Configuration spellings of the enum-typed settings, shared by the binder, ToHocon and logs.</summary>
public static class SettingNames
{
    public static ConfigNames<CellKind> Cells { get; } = new(
        Enum.GetValues<CellKind>().Select(c => (c, CellNames.ToConfigName(c))).ToArray());

    public static ConfigNames<TokenizerKind> Tokenizers { get; } = new(
        (TokenizerKind.Word, "word"), (TokenizerKind.Char, "char"));

    public static ConfigNames<InvalidUtf8Policy> InvalidUtf8Policies { get; } = new(
        (InvalidUtf8Policy.Error, "error"), (InvalidUtf8Policy.Replace, "replace"));

    public static ConfigNames<OptimizerKind> Optimizers { get; } = new(
        (OptimizerKind.Sgd, "sgd"), (OptimizerKind.Adam, "adam"), (OptimizerKind.AdamW, "adamw"));

    public static ConfigNames<ScheduleKind> Schedules { get; } = new(
        (ScheduleKind.Constant, "constant"), (ScheduleKind.Plateau, "plateau"), (ScheduleKind.Cosine, "cosine"));

    public static ConfigNames<DataTaskKind> DataTasks { get; } = new(
        (DataTaskKind.Auto, "auto"), (DataTaskKind.LanguageModel, "language-model"), (DataTaskKind.Acceptor, "acceptor"),
        (DataTaskKind.Transducer, "transducer"), (DataTaskKind.EncoderDecoder, "encoder-decoder"));

    public static ConfigNames<LengthPolicy> LengthPolicies { get; } = new(
        (LengthPolicy.Truncate, "truncate"), (LengthPolicy.Drop, "drop"));

    public static ConfigNames<Pooling> Poolings { get; } = new(
        (Pooling.Last, "last"), (Pooling.Mean, "mean"), (Pooling.Max, "max"), (Pooling.Attention, "attention"));

    public static ConfigNames<HeadActivation> HeadActivations { get; } = new(
        (HeadActivation.Tanh, "tanh"), (HeadActivation.Relu, "relu"));

    public static ConfigNames<ComputePrecision> Precisions { get; } = new(
        (ComputePrecision.Native, "fp32"), (ComputePrecision.BFloat16, "bf16"));

    public static ConfigNames<StragglerPolicy> StragglerPolicies { get; } = new(
        (StragglerPolicy.Wait, "wait"), (StragglerPolicy.Drop, "drop"));

    public static ConfigNames<CheckpointFailurePolicy> CheckpointFailurePolicies { get; } = new(
        (CheckpointFailurePolicy.Stop, "stop"), (CheckpointFailurePolicy.Continue, "continue"));

    public static ConfigNames<DiscoveryMethod> DiscoveryMethods { get; } = new(
        (DiscoveryMethod.Seeds, "seeds"), (DiscoveryMethod.Config, "config"), (DiscoveryMethod.Kubernetes, "kubernetes"));

    public static ConfigNames<GradientExchange> GradientExchanges { get; } = new(
        (GradientExchange.Coordinator, "coordinator"), (GradientExchange.AllReduce, "all-reduce"));

    public static ConfigNames<GradientCompressionSetting> GradientCompressions { get; } = new(
        (GradientCompressionSetting.None, "none"), (GradientCompressionSetting.BFloat16, "bf16"));

    public static ConfigNames<MonitorMode> MonitorModes { get; } = new(
        (MonitorMode.Off, "off"), (MonitorMode.Cluster, "cluster"), (MonitorMode.Always, "always"));
}
