namespace RnnCluster.Parallel.Cluster;

/// <summary>
/// A standby coordinator (a coordinator-eligible node not running the run) stopped on request (SIGTERM): an
/// interruption like the running coordinator's (exit 130), not a failure its launcher should restart.
/// </summary>
public sealed class StandbyStoppedException(string message) : Exception(message);
