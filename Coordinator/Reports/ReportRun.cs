using RnnCluster.Training;

namespace RnnCluster.Coordinator.Reports;

/// <summary>One run directory as a report shows it.</summary>
/// <param name="Label">How charts and tables name the run: the directory's name, or more of its path where two runs share a name.</param>
/// <param name="Summary">summary.json; null while the run has not finished.</param>
/// <param name="Settings">The newest checkpoint's config.hocon, when there is one.</param>
public sealed record ReportRun(string Label, string Directory, RunMetrics Metrics, RunSummary? Summary, string? Settings);
