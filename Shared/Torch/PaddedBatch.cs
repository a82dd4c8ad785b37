namespace RnnCluster.Torch;

/// <summary>
/// Token sequences of different lengths in one time-major window <c>[Steps, Count]</c>: column b holds
/// sequence b in rows <c>[0, Lengths[b])</c>; the rows after it are padding, which the models mask
/// (see RecurrentStack), so padding changes neither losses nor gradients.
/// </summary>
public sealed class PaddedBatch
{
    /// <summary>What <see cref="FromSequences"/> pads with; any value would do, -1 makes mistakes loud.</summary>
    public const long Padding = -1;

    private readonly long[] _tokens;
    private readonly int[] _lengths;

    /// <summary>Wraps a time-major window and the sequences' lengths; the arrays are not copied.</summary>
    public PaddedBatch(long[] tokens, int[] lengths, int steps)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(lengths);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        if (lengths.Length == 0)
        {
            throw new ArgumentException("a batch needs at least one sequence", nameof(lengths));
        }

        if (tokens.Length != (long)steps * lengths.Length)
        {
            throw new ArgumentException($"tokens must hold steps x sequences = {steps} x {lengths.Length} ids, got {tokens.Length}", nameof(tokens));
        }

        for (var b = 0; b < lengths.Length; b++)
        {
            if (lengths[b] < 1 || lengths[b] > steps)
            {
                throw new ArgumentException($"lengths[{b}] = {lengths[b]} is outside [1, {steps}]", nameof(lengths));
            }
        }

        _tokens = tokens;
        _lengths = lengths;
        Steps = steps;
    }

    /// <summary>Rows of the window: the longest sequence, or more.</summary>
    public int Steps { get; }

    /// <summary>Number of sequences (columns).</summary>
    public int Count => _lengths.Length;

    /// <summary>Time-major ids: sequence b's token t is at <c>t * Count + b</c>.</summary>
    public ReadOnlySpan<long> Tokens => _tokens;

    public ReadOnlySpan<int> Lengths => _lengths;

    /// <summary>Pads <paramref name="sequences"/> to <paramref name="steps"/> rows (0 = the longest) with <see cref="Padding"/>.</summary>
    public static PaddedBatch FromSequences(IReadOnlyList<IReadOnlyList<long>> sequences, int steps = 0)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        var lengths = sequences.Select(s => s.Count).ToArray();
        var rows = steps == 0 && lengths.Length > 0 ? lengths.Max() : steps;
        return new PaddedBatch(TimeMajor(sequences, rows, Padding), lengths, rows);
    }

    /// <summary>
    /// Lays per-position values of each sequence (tokens, or a transducer's tags) out time-major
    /// <c>[steps, sequences.Count]</c>, with <paramref name="padding"/> after each sequence's end.
    /// </summary>
    public static long[] TimeMajor(IReadOnlyList<IReadOnlyList<long>> sequences, int steps, long padding = Padding)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        var count = sequences.Count;
        var values = new long[(long)steps * count];
        Array.Fill(values, padding);
        for (var b = 0; b < count; b++)
        {
            var sequence = sequences[b];
            if (sequence.Count > steps)
            {
                throw new ArgumentException($"sequence {b} has {sequence.Count} positions, more than {steps} steps", nameof(sequences));
            }

            for (var t = 0; t < sequence.Count; t++)
            {
                values[(t * count) + b] = sequence[t];
            }
        }

        return values;
    }
}
