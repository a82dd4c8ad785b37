namespace RnnCluster.Training.Tasks;

/// <summary>Macro-F1 from predictions, and the token edit distance between two sequences.</summary>
public static class TaskMetrics
{
    /// <summary>
    /// Unweighted mean over classes of F1 = 2·TP / (2·TP + FP + FN), over the classes that occur as a
    /// gold label or a prediction (as scikit-learn's <c>f1_score(average="macro")</c> does).
    /// </summary>
    public static double MacroF1(IReadOnlyList<long> gold, IReadOnlyList<long> predicted)
    {
        ArgumentNullException.ThrowIfNull(gold);
        ArgumentNullException.ThrowIfNull(predicted);
        if (gold.Count != predicted.Count)
        {
            throw new ArgumentException($"{gold.Count} gold labels but {predicted.Count} predictions", nameof(predicted));
        }

        var counts = new SortedDictionary<long, (long Tp, long Fp, long Fn)>();
        for (var i = 0; i < gold.Count; i++)
        {
            var (g, p) = (gold[i], predicted[i]);
            if (g == p)
            {
                var c = counts.GetValueOrDefault(g);
                counts[g] = (c.Tp + 1, c.Fp, c.Fn);
                continue;
            }

            var gc = counts.GetValueOrDefault(g);
            counts[g] = (gc.Tp, gc.Fp, gc.Fn + 1);
            var pc = counts.GetValueOrDefault(p);
            counts[p] = (pc.Tp, pc.Fp + 1, pc.Fn);
        }

        return counts.Count == 0 ? double.NaN : counts.Values.Average(c => 2.0 * c.Tp / ((2.0 * c.Tp) + c.Fp + c.Fn));
    }

    /// <summary>Levenshtein distance in tokens: insertions, deletions and substitutions, each costing one.</summary>
    public static int EditDistance(ReadOnlySpan<long> a, ReadOnlySpan<long> b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
