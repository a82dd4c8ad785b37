namespace RnnCluster.Coordinator.Reports;

/// <summary>What a run's metrics.jsonl holds, each list in step order.</summary>
public sealed class RunMetrics
{
    public RunMetrics(IReadOnlyList<TrainPoint> train, IReadOnlyList<EvaluationPoint> valid, IReadOnlyList<EvaluationPoint> test, IReadOnlyList<RunEvent> events, IReadOnlyDictionary<string, int> ignoredKinds)
    {
        Train = train;
        Valid = valid;
        Test = test;
        Events = events;
        IgnoredKinds = ignoredKinds;
    }

    public IReadOnlyList<TrainPoint> Train { get; }

    public IReadOnlyList<EvaluationPoint> Valid { get; }

    public IReadOnlyList<EvaluationPoint> Test { get; }

    /// <summary>Skipped steps, rollbacks and failed checkpoints, in file order.</summary>
    public IReadOnlyList<RunEvent> Events { get; }

    /// <summary>Line kinds this report does not know, with how many lines each (newer trainers may write more).</summary>
    public IReadOnlyDictionary<string, int> IgnoredKinds { get; }
}
