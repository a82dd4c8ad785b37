namespace RnnCluster.Data.Tasks;

/// <summary>
/// One batch of variable-length examples. Rows are kept by reference to the split's id arrays and
/// sorted by non-increasing source length, so any contiguous range of rows is again such a batch:
/// <see cref="Slice"/> cuts a worker's sub-batch [a, b) in O(b − a) without copying tokens, and the
/// sub-batch's own <see cref="SourceLength"/> is the length of its first row. The padded tensors are
/// built on first use, on whichever thread (worker) asks for them, and then cached.
/// <code>
/// Sources [T, B] time-major, int64; element (t, b) at t·B + b; padding = TaskVocabulary.PaddingId
///           b = 0    b = 1    b = 2
///   t = 0   x0[0]    x1[0]    x2[0]
///   t = 1   x0[1]    x1[1]    pad        SourceLengths [B] = (4, 3, 1)
///   t = 2   x0[2]    x1[2]    pad        SourceMask [T, B]: 1 at tokens, 0 at padding
///   t = 3   x0[3]    pad      pad
/// </code>
/// Targets by kind (an ignored position holds <see cref="Ignored"/> = −1, as in <see cref="TokenSplit"/>):
/// <list type="bullet">
/// <item>acceptor: <see cref="Labels"/> [B], one class id per row;</item>
/// <item>transducer: <see cref="Tags"/> [T, B], a tag id per source token, −1 at padding;</item>
/// <item>encoder–decoder: <see cref="DecoderInputs"/> [T', B] = &lt;bos&gt; y1 … yn then padding,
/// <see cref="DecoderTargets"/> [T', B] = y1 … yn &lt;eos&gt; then −1, <see cref="TargetLengths"/> [B] = n + 1,
/// T' = the longest target + 1.</item>
/// </list>
/// The arrays are shared by every reader of the batch: do not write to them.
/// </summary>
public sealed class SequenceBatch
{
    public const long Ignored = TokenSplit.Ignored;

    private readonly int[][] _sources;
    private readonly int[][]? _targets;
    private readonly int[]? _labels;
    private readonly int[] _examples;
    private readonly int _offset;

    private readonly Lazy<long[]> _paddedSources;
    private readonly Lazy<byte[]> _sourceMask;
    private readonly Lazy<long[]> _targetsOfKind;
    private readonly Lazy<long[]> _decoderInputs;
    private readonly Lazy<byte[]> _targetMask;

    internal SequenceBatch(TaskKind kind, int[][] sources, int[][]? targets, int[]? labels, int[] examples)
        : this(kind, sources, targets, labels, examples, 0, sources.Length)
    {
    }

    private SequenceBatch(TaskKind kind, int[][] sources, int[][]? targets, int[]? labels, int[] examples, int offset, int count)
    {
        Kind = kind;
        _sources = sources;
        _targets = targets;
        _labels = labels;
        _examples = examples;
        _offset = offset;
        Count = count;

        // Rows are sorted by non-increasing source length: the first row is the longest.
        SourceLength = count == 0 ? 0 : sources[offset].Length;
        var sourceTokens = 0L;
        for (var r = 0; r < count; r++)
        {
            sourceTokens += sources[offset + r].Length;
        }

        SourceTokenCount = sourceTokens;
        (TargetLength, TargetCount) = kind switch
        {
            TaskKind.Acceptor => (0, count),
            TaskKind.Transducer => (SourceLength, sourceTokens),
            _ => DecoderExtent(targets!, offset, count),
        };

        _paddedSources = new Lazy<long[]>(() => Pad(_sources, SourceLength, TaskVocabulary.PaddingId, prefix: null, suffix: null));
        _sourceMask = new Lazy<byte[]>(() => Mask(_sources, SourceLength, extra: 0));
        _targetsOfKind = new Lazy<long[]>(BuildTargets);
        _decoderInputs = new Lazy<long[]>(() => Pad(RequireTargets(TaskKind.EncoderDecoder), TargetLength, TaskVocabulary.PaddingId, prefix: TaskVocabulary.BeginId, suffix: null));
        _targetMask = new Lazy<byte[]>(() => Mask(RequireTargets(TaskKind.EncoderDecoder), TargetLength, extra: 1));
    }

    public TaskKind Kind { get; }

    /// <summary>Rows (B).</summary>
    public int Count { get; }

    /// <summary>T: the longest source of this batch's own rows.</summary>
    public int SourceLength { get; }

    /// <summary>T': decoder steps (encoder–decoder: the longest target + 1), T for a transducer, 0 for an acceptor.</summary>
    public int TargetLength { get; }

    /// <summary>Real (non-padding) source tokens.</summary>
    public long SourceTokenCount { get; }

    /// <summary>Positions with a target, over which a loss is summed: B, the source tokens, or Σ (n + 1).</summary>
    public long TargetCount { get; }

    /// <summary>Padding cells of <see cref="Sources"/>: T·B minus the real tokens.</summary>
    public long SourcePadding => ((long)SourceLength * Count) - SourceTokenCount;

    /// <summary>[T, B] source ids, time-major, padded with <see cref="TaskVocabulary.PaddingId"/>.</summary>
    public long[] Sources => _paddedSources.Value;

    /// <summary>[B] source lengths, non-increasing.</summary>
    public long[] SourceLengths
    {
        get
        {
            var lengths = new long[Count];
            for (var r = 0; r < Count; r++)
            {
                lengths[r] = _sources[_offset + r].Length;
            }

            return lengths;
        }
    }

    /// <summary>[T, B] 1 where <see cref="Sources"/> holds a token, 0 at padding.</summary>
    public byte[] SourceMask => _sourceMask.Value;

    /// <summary>[B] class ids (acceptor).</summary>
    public long[] Labels => Kind == TaskKind.Acceptor ? _targetsOfKind.Value : throw NotOfKind(nameof(Labels), TaskKind.Acceptor);

    /// <summary>[T, B] tag ids, −1 at padding (transducer).</summary>
    public long[] Tags => Kind == TaskKind.Transducer ? _targetsOfKind.Value : throw NotOfKind(nameof(Tags), TaskKind.Transducer);

    /// <summary>[T', B] &lt;bos&gt; then the target ids, padded with <see cref="TaskVocabulary.PaddingId"/> (encoder–decoder).</summary>
    public long[] DecoderInputs => _decoderInputs.Value;

    /// <summary>[T', B] the target ids then &lt;eos&gt;, −1 at padding (encoder–decoder).</summary>
    public long[] DecoderTargets => Kind == TaskKind.EncoderDecoder ? _targetsOfKind.Value : throw NotOfKind(nameof(DecoderTargets), TaskKind.EncoderDecoder);

    /// <summary>[B] decoder steps per row: target length + 1 (encoder–decoder).</summary>
    public long[] TargetLengths
    {
        get
        {
            var targets = RequireTargets(TaskKind.EncoderDecoder);
            var lengths = new long[Count];
            for (var r = 0; r < Count; r++)
            {
                lengths[r] = targets[_offset + r].Length + 1;
            }

            return lengths;
        }
    }

    /// <summary>[T', B] 1 where <see cref="DecoderTargets"/> holds a target, 0 at padding (encoder–decoder).</summary>
    public byte[] TargetMask => _targetMask.Value;

    /// <summary>The index in the split (<see cref="TaskSplit"/>) of row <paramref name="row"/>.</summary>
    public int ExampleIndex(int row)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, Count);
        return _examples[_offset + row];
    }

    /// <summary>The split indices of all rows, in row order.</summary>
    public int[] ExampleIndices() => _examples.AsSpan(_offset, Count).ToArray();

    /// <summary>Rows [<paramref name="start"/>, <paramref name="start"/> + <paramref name="count"/>) as a batch of their own, sharing the token arrays.</summary>
    public SequenceBatch Slice(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + count, Count, nameof(count));
        return new SequenceBatch(Kind, _sources, _targets, _labels, _examples, _offset + start, count);
    }

    /// <summary>
    /// Contiguous sub-batches for <paramref name="parts"/> workers, sizes differing by at most one (the
    /// first get the extra rows), as <c>ShardPlan</c> splits streams; with more workers than rows,
    /// only <see cref="Count"/> sub-batches of one row. Each carries its own T.
    /// </summary>
    public IReadOnlyList<SequenceBatch> Split(int parts)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parts, 1);
        var used = Math.Min(parts, Count);
        var result = new List<SequenceBatch>(used);
        var start = 0;
        for (var i = 0; i < used; i++)
        {
            var count = (Count / used) + (i < Count % used ? 1 : 0);
            result.Add(Slice(start, count));
            start += count;
        }

        return result;
    }

    private static (int Length, long Count) DecoderExtent(int[][] targets, int offset, int count)
    {
        var longest = 0;
        var total = 0L;
        for (var r = 0; r < count; r++)
        {
            longest = Math.Max(longest, targets[offset + r].Length);
            total += targets[offset + r].Length + 1;
        }

        return (count == 0 ? 0 : longest + 1, total);
    }

    private long[] BuildTargets()
    {
        switch (Kind)
        {
            case TaskKind.Acceptor:
                var labels = new long[Count];
                for (var r = 0; r < Count; r++)
                {
                    labels[r] = _labels![_offset + r];
                }

                return labels;
            case TaskKind.Transducer:
                return Pad(_targets!, SourceLength, Ignored, prefix: null, suffix: null);
            default:
                return Pad(_targets!, TargetLength, Ignored, prefix: null, suffix: TaskVocabulary.EndId);
        }
    }

    // Time-major [length, Count] of the rows, each optionally preceded or followed by one extra id.
    private long[] Pad(int[][] rows, int length, long padding, long? prefix, long? suffix)
    {
        var b = Count;
        var padded = new long[(long)length * b];
        Array.Fill(padded, padding);
        for (var r = 0; r < b; r++)
        {
            var row = rows[_offset + r];
            var t = 0;
            if (prefix is { } first)
            {
                padded[r] = first;
                t = 1;
            }

            foreach (var id in row)
            {
                padded[(t * b) + r] = id;
                t++;
            }

            if (suffix is { } last)
            {
                padded[(t * b) + r] = last;
            }
        }

        return padded;
    }

    private byte[] Mask(int[][] rows, int length, int extra)
    {
        var b = Count;
        var mask = new byte[(long)length * b];
        for (var r = 0; r < b; r++)
        {
            var steps = rows[_offset + r].Length + extra;
            for (var t = 0; t < steps; t++)
            {
                mask[(t * b) + r] = 1;
            }
        }

        return mask;
    }

    private int[][] RequireTargets(TaskKind kind) =>
        Kind == kind ? _targets! : throw NotOfKind(kind == TaskKind.EncoderDecoder ? "decoder arrays" : "tags", kind);

    private InvalidOperationException NotOfKind(string what, TaskKind kind) =>
        new($"{what} belong to batches of the {kind.ToName()} task; this batch is of the {Kind.ToName()} task");
}
