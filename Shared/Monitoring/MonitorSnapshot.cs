namespace RnnCluster.Monitoring;

/// <summary>
/// A run as it stood at one moment, copied out of <see cref="RunMonitor"/> under its lock so that it can
/// be serialised (or read by a test) without holding it. Train columns: loss, learning rate, gradient
/// norm, tokens/s; valid columns: loss.
/// </summary>
public sealed record MonitorSnapshot(
    RunDescription Run,
    string State,
    long Step,
    int Epoch,
    int Generation,
    CheckpointMark? LastCheckpoint,
    string? LastError,
    HistoryColumns Train,
    HistoryColumns Valid,
    IReadOnlyList<MemberStatus> Members,
    IReadOnlyList<RunEvent> Events,
    StepSplit? Split,
    string? Sample);
