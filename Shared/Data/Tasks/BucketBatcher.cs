using RnnCluster.Common;

namespace RnnCluster.Data.Tasks;

/// <summary>
/// Cuts a split into batches of similar lengths so padding stays small (bucketing by sorting within
/// a shuffled pool, as in Tensor2Tensor and fairseq): each epoch shuffles the examples, takes them
/// K×B at a time, sorts each pool by source length (longest first; equal lengths stay in shuffled order,
/// never in file order or by target length), cuts it into batches of B and finally
/// shuffles the order of the batches. Every kept example is in exactly one batch per epoch; only the
/// epoch's last pool can leave a batch smaller than B. The order depends on nothing but the
/// generator's state, so a trainer that saves the generator at the start of an epoch replays it exactly.
/// <para>
/// The maximum length is applied once, here: longer examples are dropped or truncated by policy and
/// <see cref="Report"/> says how many.
/// </para>
/// </summary>
public sealed class BucketBatcher
{
    private readonly int[][] _sources;
    private readonly int[][]? _targets;
    private readonly int[]? _labels;
    private readonly int[] _examples;
    private readonly BatchingOptions _options;

    public BucketBatcher(TaskSplit split, BatchingOptions options)
    {
        ArgumentNullException.ThrowIfNull(split);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Split = split;
        _options = options;

        var sources = new List<int[]>(split.Count);
        var targets = split.Targets is null ? null : new List<int[]>(split.Count);
        var labels = split.Labels is null ? null : new List<int>(split.Count);
        var examples = new List<int>(split.Count);
        int truncated = 0, dropped = 0;
        var max = options.MaxLength;
        for (var i = 0; i < split.Count; i++)
        {
            var source = split.Sources[i];
            var target = split.Targets?[i];
            if (max > 0 && (source.Length > max || (split.Kind == TaskKind.EncoderDecoder && target!.Length > max)))
            {
                if (options.MaxLengthPolicy == MaxLengthPolicy.Drop)
                {
                    dropped++;
                    continue;
                }

                truncated++;
                source = source.Length > max ? source[..max] : source;
                target = target is not null && target.Length > max ? target[..max] : target;
            }

            sources.Add(source);
            targets?.Add(target!);
            labels?.Add(split.Labels![i]);
            examples.Add(i);
        }

        Report = new LengthReport(split.Name, split.Count, truncated, dropped, max, options.MaxLengthPolicy);
        if (sources.Count == 0)
        {
            throw new DataException($"{split.Name}: all {split.Count:N0} examples are longer than the maximum length {max} and were dropped (raise data.max-length or use data.max-length-policy = truncate)");
        }

        _sources = [.. sources];
        _targets = targets?.ToArray();
        _labels = labels?.ToArray();
        _examples = [.. examples];
    }

    public TaskSplit Split { get; }

    public LengthReport Report { get; }

    /// <summary>Examples in every epoch (after dropping).</summary>
    public int Count => _sources.Length;

    public int BatchSize => _options.BatchSize;

    public int BatchesPerEpoch => (Count + BatchSize - 1) / BatchSize;

    /// <summary>The batches of one training epoch in order; draws from <paramref name="rng"/> a fixed amount for a given split and options.</summary>
    public IReadOnlyList<SequenceBatch> Epoch(SeededRandom rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var order = new int[Count];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        Shuffle(order, rng);
        var pool = checked(_options.BatchSize * _options.PoolBatches);
        var batches = new List<SequenceBatch>(BatchesPerEpoch);
        var positions = new int[Count];
        for (var start = 0; start < order.Length; start += pool)
        {
            var rows = order.AsSpan(start, Math.Min(pool, order.Length - start));
            // Ties keep their shuffled order (a position in the shuffle, not the split index): split files are
            // often sorted (cmudict alphabetically, spam-assassin by label), and a split-order tie-break would
            // fill each batch with neighbouring lines of the file, e.g. all "ab..." words or one label only.
            for (var p = 0; p < rows.Length; p++)
            {
                positions[rows[p]] = p;
            }

            rows.Sort((a, b) => CompareByLength(a, b, byTarget: false, positions[a].CompareTo(positions[b])));
            Cut(rows, batches);
        }

        Shuffle(batches, rng);
        return batches;
    }

    /// <summary>Batches for evaluation: every example sorted by length, no randomness (least padding, same every time).</summary>
    public IReadOnlyList<SequenceBatch> Sequential()
    {
        var order = new int[Count];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        order.AsSpan().Sort((a, b) => CompareByLength(a, b, byTarget: true, a.CompareTo(b)));
        var batches = new List<SequenceBatch>(BatchesPerEpoch);
        Cut(order, batches);
        return batches;
    }

    private void Cut(ReadOnlySpan<int> rows, List<SequenceBatch> batches)
    {
        for (var start = 0; start < rows.Length; start += _options.BatchSize)
        {
            var batch = rows.Slice(start, Math.Min(_options.BatchSize, rows.Length - start));
            var sources = new int[batch.Length][];
            var targets = _targets is null ? null : new int[batch.Length][];
            var labels = _labels is null ? null : new int[batch.Length];
            var examples = new int[batch.Length];
            for (var r = 0; r < batch.Length; r++)
            {
                var k = batch[r];
                sources[r] = _sources[k];
                targets?[r] = _targets![k];
                labels?[r] = _labels![k];
                examples[r] = _examples[k];
            }

            batches.Add(new SequenceBatch(Split.Kind, sources, targets, labels, examples));
        }
    }

    // Longest source first, then (evaluation only) longest target, then the caller's tie-break (a total order,
    // so the unstable sort is deterministic): the shuffled position for training epochs, the split order for
    // evaluation. Training pools do not sort by target length: that made each encoder-decoder batch hold one
    // target length for its source length (one "letters per phoneme" regime per batch on cmudict), and
    // training converged markedly slower than with batches mixed in target length.
    private int CompareByLength(int a, int b, bool byTarget, int tie)
    {
        var bySource = _sources[b].Length.CompareTo(_sources[a].Length);
        if (bySource != 0)
        {
            return bySource;
        }

        if (byTarget && _targets is not null)
        {
            var byTargetLength = _targets[b].Length.CompareTo(_targets[a].Length);
            if (byTargetLength != 0)
            {
                return byTargetLength;
            }
        }

        return tie;
    }

    // Fisher–Yates, from the end.
    private static void Shuffle<T>(IList<T> items, SeededRandom rng)
    {
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = rng.NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
