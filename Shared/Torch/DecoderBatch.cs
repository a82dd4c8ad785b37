namespace RnnCluster.Torch;

/// <summary>
/// The decoder side of a teacher-forced encoder–decoder batch: time-major <c>[Steps, Count]</c> inputs
/// (each sequence starts with &lt;bos&gt;) and targets (the inputs shifted left, ending with &lt;eos&gt;).
/// Padding is -1 in both; from a sequence's first padding input on, its targets must be -1 too.
/// </summary>
public sealed class DecoderBatch
{
    private readonly long[] _inputs;
    private readonly long[] _targets;

    /// <summary>Wraps time-major inputs and targets; the arrays are not copied.</summary>
    public DecoderBatch(long[] inputs, long[] targets, int steps)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        if (inputs.Length == 0 || inputs.Length % steps != 0 || targets.Length != inputs.Length)
        {
            throw new ArgumentException($"inputs and targets must both hold steps x sequences ids for steps = {steps}, got {inputs.Length} and {targets.Length}", nameof(inputs));
        }

        _inputs = inputs;
        _targets = targets;
        Steps = steps;
        Count = inputs.Length / steps;
    }

    public int Steps { get; }

    public int Count { get; }

    public ReadOnlySpan<long> Inputs => _inputs;

    public ReadOnlySpan<long> Targets => _targets;

    /// <summary>
    /// Teacher forcing for target sequences y (without &lt;bos&gt;/&lt;eos&gt;): inputs
    /// <c>&lt;bos&gt; y1 … yn</c>, targets <c>y1 … yn &lt;eos&gt;</c>, padded with -1 to the longest.
    /// </summary>
    public static DecoderBatch TeacherForcing(IReadOnlyList<IReadOnlyList<long>> targets, long bos, long eos)
    {
        ArgumentNullException.ThrowIfNull(targets);
        var inputs = new List<long[]>(targets.Count);
        var shifted = new List<long[]>(targets.Count);
        foreach (var y in targets)
        {
            inputs.Add([bos, .. y]);
            shifted.Add([.. y, eos]);
        }

        var steps = inputs.Count == 0 ? 1 : inputs.Max(s => s.Length);
        return new DecoderBatch(PaddedBatch.TimeMajor(inputs, steps), PaddedBatch.TimeMajor(shifted, steps), steps);
    }
}
