namespace RnnCluster.Training;

/// <summary>
/// One step's window of the global batch: time-major ids <c>[Length, Streams]</c>, every stream's state
/// at its start, and a buffer for every stream's state at its end. Owned by the <see cref="TrainingLoop"/>;
/// valid until the step is completed. Slices of streams are contiguous in both the ids (per row) and
/// the states, so a coordinator can hand a range of streams to each worker.
/// </summary>
public sealed class TrainingWindow : ITrainingStep
{
    private readonly long[] _inputs;
    private readonly long[] _targets;
    private readonly float[] _state;
    private readonly float[] _nextState;

    internal TrainingWindow(long step, int epoch, int start, int length, int streams, int stateSize, long[] inputs, long[] targets, float[] state, float[] nextState)
    {
        Step = step;
        Epoch = epoch;
        Start = start;
        Length = length;
        Streams = streams;
        StateSize = stateSize;
        _inputs = inputs;
        _targets = targets;
        _state = state;
        _nextState = nextState;
    }

    /// <summary>The step this window will be (1-based).</summary>
    public long Step { get; }

    public int Epoch { get; }

    /// <summary>Time index of the window's first row within the streams.</summary>
    public int Start { get; }

    public int Length { get; }

    public int Streams { get; }

    /// <summary>State elements per stream.</summary>
    public int StateSize { get; }

    public ReadOnlySpan<long> Inputs => _inputs.AsSpan(0, Length * Streams);

    public ReadOnlySpan<long> Targets => _targets.AsSpan(0, Length * Streams);

    public ReadOnlySpan<float> State => _state;

    public Span<float> NextState => _nextState;

    /// <summary>Copies the ids of streams [first, first+count) into time-major <c>[Length, count]</c> buffers.</summary>
    public void CopySlice(int first, int count, Span<long> inputs, Span<long> targets)
    {
        for (var t = 0; t < Length; t++)
        {
            _inputs.AsSpan((t * Streams) + first, count).CopyTo(inputs.Slice(t * count, count));
            _targets.AsSpan((t * Streams) + first, count).CopyTo(targets.Slice(t * count, count));
        }
    }

    public ReadOnlySpan<float> StateSlice(int first, int count) => _state.AsSpan(first * StateSize, count * StateSize);

    public Span<float> NextStateSlice(int first, int count) => _nextState.AsSpan(first * StateSize, count * StateSize);
}
