namespace RnnCluster.Data;

/// <summary>
/// A split cut into B contiguous streams, PyTorch's <c>batchify</c> with targets kept beside inputs.
/// Stream b holds split positions [b*L, (b+1)*L); the remainder Length mod B is dropped. Stored
/// time-major so one time step of all streams is contiguous, as an RNN consumes it:
/// <code>
///           stream 0   stream 1        stream B-1
///   t = 0   s[0]       s[L]      ...   s[(B-1)L]
///   t = 1   s[1]       s[L+1]    ...   s[(B-1)L+1]
///   ...
///   t = L-1 s[L-1]     s[2L-1]   ...   s[BL-1]
/// </code>
/// Each stream carries its own hidden state across windows, so a worker can own any range of streams.
/// </summary>
public sealed class BatchedStreams
{
    private readonly int[] _inputs;
    private readonly int[] _targets;

    private BatchedStreams(int[] inputs, int[] targets, int streamCount, int length)
    {
        _inputs = inputs;
        _targets = targets;
        StreamCount = streamCount;
        Length = length;
    }

    public int StreamCount { get; }

    /// <summary>Time steps per stream (L).</summary>
    public int Length { get; }

    public static BatchedStreams Batchify(TokenSplit split, int streamCount)
    {
        ArgumentNullException.ThrowIfNull(split);
        ArgumentOutOfRangeException.ThrowIfLessThan(streamCount, 1);
        var length = split.Length / streamCount;
        if (length == 0)
        {
            throw new DataException(
                $"batch size {streamCount} is larger than the split's {split.Length} tokens: every stream needs at least one");
        }

        var inputs = new int[length * streamCount];
        var targets = new int[length * streamCount];
        for (var b = 0; b < streamCount; b++)
        {
            for (var t = 0; t < length; t++)
            {
                inputs[(t * streamCount) + b] = split.Inputs[(b * length) + t];
                targets[(t * streamCount) + b] = split.Targets[(b * length) + t];
            }
        }

        return new BatchedStreams(inputs, targets, streamCount, length);
    }

    public int InputAt(int time, int stream) => _inputs[Index(time, stream)];

    public int TargetAt(int time, int stream) => _targets[Index(time, stream)];

    /// <summary>
    /// Fills time-major [length, streamCount] buffers with times [start, start+length) of streams
    /// [firstStream, firstStream+streamCount): element (t, j) lands at t*streamCount + j.
    /// </summary>
    public void CopyWindow(int start, int length, int firstStream, int streamCount, Span<long> inputs, Span<long> targets)
    {
        CheckBlock(start, length, firstStream, streamCount);
        var size = length * streamCount;
        if (inputs.Length < size || targets.Length < size)
        {
            throw new ArgumentException(
                $"A {length}x{streamCount} window needs buffers of {size} elements, got {inputs.Length} and {targets.Length}.");
        }

        for (var t = 0; t < length; t++)
        {
            var from = ((start + t) * StreamCount) + firstStream;
            var to = t * streamCount;
            for (var j = 0; j < streamCount; j++)
            {
                inputs[to + j] = _inputs[from + j];
                targets[to + j] = _targets[from + j];
            }
        }
    }

    /// <summary>Targets that are not <see cref="TokenSplit.Ignored"/> in the block: the loss's token count.</summary>
    public long CountTargets(int start, int length, int firstStream, int streamCount)
    {
        CheckBlock(start, length, firstStream, streamCount);
        long count = 0;
        for (var t = start; t < start + length; t++)
        {
            var row = _targets.AsSpan((t * StreamCount) + firstStream, streamCount);
            count += streamCount - row.Count(TokenSplit.Ignored);
        }

        return count;
    }

    private int Index(int time, int stream)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(time);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(time, Length);
        ArgumentOutOfRangeException.ThrowIfNegative(stream);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(stream, StreamCount);
        return (time * StreamCount) + stream;
    }

    private void CheckBlock(int start, int length, int firstStream, int streamCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start, Length - length, nameof(start));
        ArgumentOutOfRangeException.ThrowIfNegative(firstStream);
        ArgumentOutOfRangeException.ThrowIfLessThan(streamCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(firstStream, StreamCount - streamCount, nameof(firstStream));
    }
}
