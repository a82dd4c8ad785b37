namespace RnnCluster.Monitoring;

/// <summary>What a run is, as the dashboard's header shows it; filled in by <see cref="RunMonitor"/> from its owner and the trainer's start.</summary>
public sealed record RunDescription(string RunDirectory, string Task, string Mode, long Parameters, long TotalSteps, long StepsPerEpoch, double? StartedUnix);

/// <summary>
/// One member of a run: the coordinator or a worker. <see cref="State"/> is one of <see cref="MemberStates"/>;
/// <see cref="StreamShare"/> is the fraction of the global batch's streams (or examples) the member computes.
/// </summary>
public sealed record MemberStatus(int Index, string Role, string Address, string State, long Incarnation, double? StepMs, double? StreamShare);

/// <summary>The member roles and states the monitor knows (anything else is shown as given).</summary>
public static class MemberStates
{
    public const string Coordinator = "coordinator";
    public const string Worker = "worker";

    public const string Up = "up";
    public const string Joining = "joining";
    public const string Unreachable = "unreachable";
    public const string Lost = "lost";
    public const string Left = "left";

    /// <summary>Every state, in the order the metric <c>rnncluster.members</c> reports them.</summary>
    public static IReadOnlyList<string> All { get; } = [Up, Joining, Unreachable, Lost, Left];
}

/// <summary>A committed checkpoint: its step, directory, whether it is the best so far, and when (Unix seconds).</summary>
public sealed record CheckpointMark(long Step, string Path, bool Best, double Unix);

/// <summary>Where a data-parallel step's time went, in milliseconds per step (the last interval's mean).</summary>
public sealed record StepSplit(double ComputeMs, double CommunicationMs, double ApplyMs);

/// <summary>
/// Something that happened at a point of the run, drawn on the time axis: <see cref="Kind"/> is one of
/// <see cref="RunEventKinds"/>.
/// </summary>
public sealed record RunEvent(double Unix, long Step, string Kind, string Text);

/// <summary>The kinds of <see cref="RunEvent"/>.</summary>
public static class RunEventKinds
{
    public const string Generation = "generation";
    public const string Failure = "failure";
    public const string Checkpoint = "checkpoint";
    public const string Member = "member";
    public const string Error = "error";
}

/// <summary>The life of a run as <c>/ready</c> and <c>/status</c> tell it.</summary>
public static class RunStates
{
    /// <summary>Before the trainer started (loading data, waiting for workers).</summary>
    public const string Waiting = "waiting";

    public const string Training = "training";

    /// <summary>The trainer returned: finished, stopped early, or interrupted.</summary>
    public const string Finished = "finished";

    /// <summary>The trainer threw.</summary>
    public const string Failed = "failed";
}
