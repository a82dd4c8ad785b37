namespace RnnCluster.Bench.ScalingModel;

/// <summary>
/// How many distinct embedding rows the windows of one step look up, by the number of nodes: the rows
/// the sparse all-reduce sends after backward. <see cref="Uniform"/> assumes every token equally likely
/// (a worst case no text has); <see cref="Measure"/> reads a corpus and counts what a step of N nodes
/// would look up in it, cutting the corpus into N x streams contiguous streams as the product's
/// <c>BatchedStreams</c> does.
/// </summary>
internal sealed class CorpusRows(string description, Func<int, double> touched)
{
    public string Description { get; } = description;

    /// <summary>Distinct rows the N windows of one step look up (their mean over sampled steps).</summary>
    public double Touched(int nodes) => touched(nodes);

    public static CorpusRows Uniform(int vocabulary, int streams, int bptt) => new(
        "uniform random tokens",
        nodes => vocabulary * (1 - Math.Pow(1 - (1.0 / vocabulary), (double)nodes * streams * bptt)));

    /// <summary>Counts over <paramref name="samples"/> steps at seeded random offsets of <paramref name="directory"/>'s train.txt (words, an end-of-line token per line).</summary>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static CorpusRows Measure(string directory, int streams, int bptt, int samples = 64, int seed = 1)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var tokens = new List<int>();
        foreach (var line in File.ReadLines(Path.Combine(directory, "train.txt")))
        {
            foreach (var word in line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                tokens.Add(Id(ids, word));
            }

            tokens.Add(Id(ids, "<eos>"));
        }

        var cache = new Dictionary<int, double>();
        return new CorpusRows($"the windows of {Path.GetFileName(directory.TrimEnd('/'))} ({tokens.Count:N0} tokens, {ids.Count:N0} words)", nodes =>
        {
            if (cache.TryGetValue(nodes, out var known))
            {
                return known;
            }

            var count = nodes * streams;
            var length = tokens.Count / count;
            if (length <= bptt)
            {
                throw new InvalidOperationException($"{directory}: {tokens.Count} tokens are too few for {count} streams of {bptt}");
            }

            var random = new Random(seed);
            var seen = new HashSet<int>();
            var total = 0L;
            for (var s = 0; s < samples; s++)
            {
                var offset = random.Next(length - bptt);
                seen.Clear();
                for (var k = 0; k < count; k++)
                {
                    for (var t = 0; t < bptt; t++)
                    {
                        seen.Add(tokens[(k * length) + offset + t]);
                    }
                }

                total += seen.Count;
            }

            return cache[nodes] = (double)total / samples;
        });
    }

    private static int Id(Dictionary<string, int> ids, string word)
    {
        if (!ids.TryGetValue(word, out var id))
        {
            id = ids.Count;
            ids[word] = id;
        }

        return id;
    }
}
