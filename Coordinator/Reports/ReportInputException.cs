namespace RnnCluster.Coordinator.Reports;

/// <summary>A run directory that cannot be reported on: the message names the directory or file:line and what is wrong.</summary>
public sealed class ReportInputException(string message, Exception? inner = null) : Exception(message, inner);
