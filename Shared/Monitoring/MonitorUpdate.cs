namespace RnnCluster.Monitoring;

/// <summary>
/// One change to a run, as a follower of <see cref="RunMonitor.Subscribe"/> receives it after its snapshot;
/// each is one server-sent event of <c>/api/events</c>, named by <see cref="EventName"/>.
/// </summary>
public abstract record MonitorUpdate
{
    public abstract string EventName { get; }
}

/// <summary>A training step (<c>step</c>); <see cref="Epoch"/> is 1-based.</summary>
public sealed record StepUpdate(long Step, int Epoch, double Unix, double Loss, double LearningRate, double GradientNorm, double TokensPerSecond) : MonitorUpdate
{
    public override string EventName => "step";
}

/// <summary>A validation (<c>valid</c>).</summary>
public sealed record ValidUpdate(long Step, double Unix, double Loss) : MonitorUpdate
{
    public override string EventName => "valid";
}

/// <summary>The whole members table after a change (<c>members</c>).</summary>
public sealed record MembersUpdate(IReadOnlyList<MemberStatus> Members) : MonitorUpdate
{
    public override string EventName => "members";
}

/// <summary>A generation, failure, checkpoint, member change or error on the time axis (<c>event</c>).</summary>
public sealed record EventUpdate(RunEvent Event) : MonitorUpdate
{
    public override string EventName => "event";
}

/// <summary>A committed checkpoint (<c>checkpoint</c>).</summary>
public sealed record CheckpointUpdate(CheckpointMark Checkpoint) : MonitorUpdate
{
    public override string EventName => "checkpoint";
}

/// <summary>Text the model generated after a validation (<c>sample</c>).</summary>
public sealed record SampleUpdate(long Step, string Text) : MonitorUpdate
{
    public override string EventName => "sample";
}

/// <summary>A new step-time split (<c>split</c>).</summary>
public sealed record SplitUpdate(StepSplit Split) : MonitorUpdate
{
    public override string EventName => "split";
}

/// <summary>The whole run again (<c>state</c>), after its description or state changed: a follower replaces what it has.</summary>
public sealed record StateUpdate(MonitorSnapshot Snapshot) : MonitorUpdate
{
    public override string EventName => "state";
}
