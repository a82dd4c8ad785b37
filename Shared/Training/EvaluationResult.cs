namespace RnnCluster.Training;

/// <summary>Loss over a split: mean cross-entropy per counted target, and derived figures.</summary>
public sealed record EvaluationResult(double LossSum, long Tokens, long Correct)
{
    public double Loss => Tokens == 0 ? double.NaN : LossSum / Tokens;

    public double Perplexity => Math.Exp(Loss);

    /// <summary>Bits per token (per character for a char-level corpus).</summary>
    public double BitsPerToken => Loss / Math.Log(2);

    public double Accuracy => Tokens == 0 ? double.NaN : (double)Correct / Tokens;

    /// <summary>A task evaluation's further figures (macro-F1, exact match, edit distance); null for a language model.</summary>
    public Tasks.TaskScores? Scores { get; init; }
}
