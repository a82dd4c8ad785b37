namespace RnnCluster.Coordinator.Reports;

/// <summary>
/// A line that marks something happening to the run rather than a measurement: a skipped step, a
/// rollback, a checkpoint that failed to write. <see cref="Step"/> is null when the line names none;
/// <see cref="Details"/> is the line's other fields as "name=value" text.
/// </summary>
public sealed record RunEvent(int Line, string Kind, long? Step, string Details);
