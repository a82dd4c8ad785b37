using RnnCluster.Common;
using RnnCluster.Data;
using RnnCluster.Torch;

namespace RnnCluster.Training;

/// <summary>Options of <see cref="TextGenerator"/>: temperature and top-k sampling, or beam search when Beam &gt; 1.</summary>
public sealed record GenerationOptions
{
    public int Length { get; init; } = 50;

    public double Temperature { get; init; } = 1.0;

    /// <summary>Sample only among the k most likely tokens; 0 = all.</summary>
    public int TopK { get; init; }

    /// <summary>Beam width; 1 = sampling.</summary>
    public int Beam { get; init; } = 1;

    public ulong Seed { get; init; } = 1;
}

/// <summary>Continues a prime text with a trained language model, one token at a time, carrying the recurrent state.</summary>
public static class TextGenerator
{
    public static IReadOnlyList<int> Generate(RnnModel model, Vocabulary vocabulary, string prime, GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Temperature <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Temperature, "temperature must be > 0");
        }

        var primeIds = PrimeIds(vocabulary, prime);
        return options.Beam > 1 ? BeamSearch(model, primeIds, options) : Sample(model, primeIds, options);
    }

    /// <summary>
    /// The prime as ids. The tokenizer ends every line with &lt;eos&gt;; a prime that does not end in a
    /// newline is an unfinished line, so that final &lt;eos&gt; is dropped. No prime = "after a line end".
    /// </summary>
    private static int[] PrimeIds(Vocabulary vocabulary, string prime)
    {
        var ids = string.IsNullOrEmpty(prime) ? [] : Tokenizer.Encode(prime, vocabulary);
        if (ids.Length > 0 && !prime.EndsWith('\n') && ids[^1] == vocabulary.EndOfSentenceId)
        {
            ids = ids[..^1];
        }

        return ids.Length > 0 ? ids : [vocabulary.EndOfSentenceId];
    }

    private static List<int> Sample(RnnModel model, int[] prime, GenerationOptions options)
    {
        var rng = new SeededRandom(options.Seed);
        var vocab = model.Architecture.VocabularySize;
        var state = new float[model.StateSizePerStream];
        var next = new float[state.Length];
        var logits = new float[vocab];
        var window = prime.Select(i => (long)i).ToArray();
        var output = new List<int>(options.Length);
        for (var i = 0; i < options.Length; i++)
        {
            model.LastLogits<float>(window, window.Length, 1, state, next, logits);
            (state, next) = (next, state);
            var token = Draw(logits, options, rng);
            output.Add(token);
            window = [token];
        }

        return output;
    }

    private static int Draw(float[] logits, GenerationOptions options, SeededRandom rng)
    {
        var order = Enumerable.Range(0, logits.Length).ToArray();
        var k = options.TopK > 0 ? Math.Min(options.TopK, logits.Length) : logits.Length;
        if (k < logits.Length)
        {
            Array.Sort(order, (a, b) => logits[b].CompareTo(logits[a]));
        }

        var max = double.NegativeInfinity;
        for (var i = 0; i < k; i++)
        {
            max = Math.Max(max, logits[order[i]]);
        }

        var weights = new double[k];
        double total = 0;
        for (var i = 0; i < k; i++)
        {
            weights[i] = Math.Exp((logits[order[i]] - max) / options.Temperature);
            total += weights[i];
        }

        var u = rng.NextDouble() * total;
        for (var i = 0; i < k; i++)
        {
            u -= weights[i];
            if (u <= 0)
            {
                return order[i];
            }
        }

        return order[k - 1];
    }

    /// <summary>Keeps the <c>Beam</c> most likely continuations; all beams advance together as one batch of streams.</summary>
    private static List<int> BeamSearch(RnnModel model, int[] prime, GenerationOptions options)
    {
        var width = options.Beam;
        var vocab = model.Architecture.VocabularySize;
        var s = model.StateSizePerStream;

        // Run the prime once, then copy its state into every beam.
        var primeState = new float[s];
        var primeLogits = new float[vocab];
        model.LastLogits<float>(prime.Select(i => (long)i).ToArray(), prime.Length, 1, [], primeState, primeLogits);
        var beams = new List<Beam> { new([], 0.0, primeState, LogSoftmax(primeLogits)) };
        for (var step = 0; step < options.Length; step++)
        {
            var candidates = new List<(int Beam, int Token, double Score)>();
            for (var b = 0; b < beams.Count; b++)
            {
                var lp = beams[b].NextLogProbs;
                foreach (var t in TopIndices(lp, width))
                {
                    candidates.Add((b, t, beams[b].Score + lp[t]));
                }
            }

            var chosen = candidates.OrderByDescending(c => c.Score).ThenBy(c => c.Beam).ThenBy(c => c.Token).Take(width).ToArray();
            var inputs = chosen.Select(c => (long)c.Token).ToArray();
            var stateIn = new float[chosen.Length * s];
            for (var i = 0; i < chosen.Length; i++)
            {
                beams[chosen[i].Beam].State.CopyTo(stateIn.AsSpan(i * s, s));
            }

            var stateOut = new float[stateIn.Length];
            var logits = new float[chosen.Length * vocab];
            model.LastLogits<float>(inputs, 1, chosen.Length, stateIn, stateOut, logits);
            beams = chosen.Select((c, i) => new Beam(
                [.. beams[c.Beam].Tokens, c.Token],
                c.Score,
                stateOut.AsSpan(i * s, s).ToArray(),
                LogSoftmax(logits.AsSpan(i * vocab, vocab)))).ToList();
        }

        return beams[0].Tokens;
    }

    private static double[] LogSoftmax(ReadOnlySpan<float> logits)
    {
        var max = double.NegativeInfinity;
        foreach (var l in logits)
        {
            max = Math.Max(max, l);
        }

        double sum = 0;
        foreach (var l in logits)
        {
            sum += Math.Exp(l - max);
        }

        var log = Math.Log(sum) + max;
        var result = new double[logits.Length];
        for (var i = 0; i < logits.Length; i++)
        {
            result[i] = logits[i] - log;
        }

        return result;
    }

    private static IEnumerable<int> TopIndices(double[] values, int k) =>
        Enumerable.Range(0, values.Length).OrderByDescending(i => values[i]).ThenBy(i => i).Take(k);

    private sealed record Beam(List<int> Tokens, double Score, float[] State, double[] NextLogProbs);
}
