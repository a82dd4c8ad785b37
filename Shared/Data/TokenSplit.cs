namespace RnnCluster.Data;

/// <summary>
/// One split (train, valid or test) as aligned input and target ids. Targets are separate from inputs
/// so the same batching serves language models (target = next token) and taggers (target = a label of
/// the position); <see cref="Ignored"/> marks positions that contribute no loss.
/// </summary>
public sealed class TokenSplit
{
    public const int Ignored = -1;

    public TokenSplit(int[] inputs, int[] targets)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        if (inputs.Length != targets.Length)
        {
            throw new ArgumentException($"{inputs.Length} inputs but {targets.Length} targets.", nameof(targets));
        }

        Inputs = inputs;
        Targets = targets;
    }

    public int[] Inputs { get; }

    /// <summary>Targets[i] is the training target for Inputs[i], or <see cref="Ignored"/>.</summary>
    public int[] Targets { get; }

    public int Length => Inputs.Length;

    /// <summary>Next-token prediction over <paramref name="ids"/>: inputs ids[0..n-1), targets ids[1..n).</summary>
    public static TokenSplit ForLanguageModel(ReadOnlySpan<int> ids)
    {
        if (ids.Length < 2)
        {
            return new TokenSplit([], []);
        }

        return new TokenSplit(ids[..^1].ToArray(), ids[1..].ToArray());
    }
}
