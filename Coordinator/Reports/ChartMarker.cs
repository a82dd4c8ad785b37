namespace RnnCluster.Coordinator.Reports;

/// <summary>A vertical line at a step where something happened to the run (a skipped step, a rollback, a failed checkpoint), labelled by its kind.</summary>
public sealed record ChartMarker(double Step, string Kind);
