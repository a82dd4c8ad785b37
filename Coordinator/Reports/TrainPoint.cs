namespace RnnCluster.Coordinator.Reports;

/// <summary>One "train" line of metrics.jsonl; a figure the line lacks is NaN (and is not drawn).</summary>
public sealed record TrainPoint(long Step, int Epoch, double Loss, double LearningRate, double GradientNorm, double TokensPerSecond, double ElapsedSeconds);
