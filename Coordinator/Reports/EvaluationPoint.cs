namespace RnnCluster.Coordinator.Reports;

/// <summary>
/// One "valid" or "test" line of metrics.jsonl. <see cref="Scores"/> holds the task figures the line
/// carries beside the standard ones (macroF1, exactMatch, editDistance…), in the order written.
/// </summary>
public sealed record EvaluationPoint(long Step, double Loss, double Perplexity, double BitsPerToken, double Accuracy, IReadOnlyList<KeyValuePair<string, double>> Scores);
