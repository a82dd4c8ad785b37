namespace RnnCluster.Training.Numerics;

/// <summary>
/// What the numerical policy remembers between steps, and what a checkpoint keeps of it so a resumed run
/// decides exactly as the uninterrupted one: the losses of the last applied steps (the spike median's
/// window), the bad steps in a row, and the data ranges rollbacks skipped.
/// </summary>
public sealed class NumericsHistory
{
    private readonly Queue<double> _recent = new();
    private readonly List<SkippedRange> _skipped = [];

    public int ConsecutiveSkips { get; set; }

    public IReadOnlyCollection<double> RecentLosses => _recent;

    public IReadOnlyList<SkippedRange> SkippedRanges => _skipped;

    public void AddLoss(double loss, int window)
    {
        _recent.Enqueue(loss);
        while (_recent.Count > window)
        {
            _recent.Dequeue();
        }
    }

    public void AddRange(SkippedRange range) => _skipped.Add(range);

    /// <summary>Replaces the spike window's losses (a rollback takes the checkpoint's).</summary>
    public void ResetLosses(IEnumerable<double>? losses)
    {
        _recent.Clear();
        foreach (var loss in losses ?? [])
        {
            _recent.Enqueue(loss);
        }
    }

    /// <summary>The history a checkpoint's trainer state holds (absent fields in an older checkpoint: empty).</summary>
    public static NumericsHistory From(TrainerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var history = new NumericsHistory { ConsecutiveSkips = state.ConsecutiveSkips };
        history.ResetLosses(state.RecentLosses);
        history._skipped.AddRange(state.SkippedRanges ?? []);
        return history;
    }
}
