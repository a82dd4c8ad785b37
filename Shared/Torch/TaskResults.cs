namespace RnnCluster.Torch;

/// <summary>
/// Summed cross-entropy (nats) over the counted targets of a task batch, how many were counted (labels,
/// tagged positions or target tokens; -1 targets are not) and how many the argmax got right.
/// </summary>
public readonly record struct BatchResult(double LossSum, long Count, long Correct);

/// <summary>
/// Encoder–decoder inference settings: start from <paramref name="Bos"/>, end a hypothesis at its first
/// <paramref name="Eos"/> or after <paramref name="MaxLength"/> tokens. <see cref="BeamWidth"/> 1 is greedy.
/// </summary>
public sealed record DecodeOptions(long Bos, long Eos, int MaxLength)
{
    public int BeamWidth { get; init; } = 1;
}

/// <summary>
/// One output per source: the emitted tokens (ending with &lt;eos&gt; unless cut at the maximum length)
/// and their total log-probability in nats, not length-normalised.
/// </summary>
public sealed record DecodedBatch(IReadOnlyList<long[]> Sequences, IReadOnlyList<double> Scores);
