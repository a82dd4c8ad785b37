namespace RnnCluster.Data;

/// <summary>
/// The perplexity a model must beat to have learnt anything beyond word frequencies: the validation
/// targets scored under the add-one-smoothed unigram distribution of the training targets.
/// </summary>
public static class UnigramBaseline
{
    public static double Perplexity(TokenSplit train, TokenSplit valid, int vocabularySize)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(valid);
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabularySize, 1);
        var counts = new long[vocabularySize];
        long total = 0;
        foreach (var target in train.Targets)
        {
            if (target != TokenSplit.Ignored)
            {
                counts[CheckId(target, vocabularySize, nameof(train))]++;
                total++;
            }
        }

        double negativeLogLikelihood = 0;
        long scored = 0;
        var denominator = (double)(total + vocabularySize);
        foreach (var target in valid.Targets)
        {
            if (target != TokenSplit.Ignored)
            {
                negativeLogLikelihood -= Math.Log((counts[CheckId(target, vocabularySize, nameof(valid))] + 1) / denominator);
                scored++;
            }
        }

        if (scored == 0)
        {
            throw new ArgumentException("The validation split has no targets to score.", nameof(valid));
        }

        return Math.Exp(negativeLogLikelihood / scored);
    }

    private static int CheckId(int id, int vocabularySize, string paramName) =>
        id >= 0 && id < vocabularySize
            ? id
            : throw new ArgumentException($"Target id {id} is outside a vocabulary of {vocabularySize}.", paramName);
}
