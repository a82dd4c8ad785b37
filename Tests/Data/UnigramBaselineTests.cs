using RnnCluster.Data;

namespace RnnCluster.Tests.Data;

public sealed class UnigramBaselineTests
{
    [Fact]
    public void Perplexity_is_that_of_the_add_one_smoothed_training_unigram()
    {
        // Train targets (ignoring -1): id 2 three times, id 3 once; V = 4, so p = (c + 1) / (4 + 4):
        // p(2) = 4/8, p(3) = 2/8, p(0) = 1/8. Valid targets 2, 3, 0 => ppl = (1/2 * 1/4 * 1/8)^(-1/3) = 4.
        var train = new TokenSplit([0, 0, 0, 0, 0], [2, 2, -1, 3, 2]);
        var valid = new TokenSplit([0, 0, 0, 0], [2, -1, 3, 0]);

        var perplexity = UnigramBaseline.Perplexity(train, valid, vocabularySize: 4);

        Assert.Equal(4.0, perplexity, precision: 12);
    }
}
