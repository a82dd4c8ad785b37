using RnnCluster.Data.Tasks;

namespace RnnCluster.Tests.Data.Tasks;

public sealed class HashSplitTests
{
    // Computed independently (Python hashlib): the first 8 bytes of SHA-256, big-endian, top 53 bits / 2^53.
    [Theory]
    [InlineData("aardvark", 0.8109758330006284, DataSplit.Train)]
    [InlineData("hello world", 0.7238335445465979, DataSplit.Train)]
    [InlineData("c", 0.18159747208966504, DataSplit.Valid)]
    [InlineData("f", 0.14524941337555541, DataSplit.Valid)]
    [InlineData("d", 0.09637823404403911, DataSplit.Test)]
    [InlineData("ham", 0.05781544144557249, DataSplit.Test)]
    public void Examples_are_pinned_to_their_split_on_every_machine(string text, double point, DataSplit split)
    {
        Assert.Equal(point, HashSplit.Point(text));
        Assert.Equal(split, HashSplit.Assign(text));
    }

    [Fact]
    public void The_split_does_not_depend_on_order_or_neighbours_and_keeps_file_order_within_a_split()
    {
        var words = Enumerable.Range(0, 2000).Select(i => $"word{i}").ToList();
        var forward = HashSplit.Split(words, w => w);
        var reversed = HashSplit.Split(Enumerable.Reverse(words), w => w);

        Assert.Equal(forward.Test, Enumerable.Reverse(reversed.Test));
        Assert.Equal(forward.Valid, Enumerable.Reverse(reversed.Valid));
        Assert.Equal(2000, forward.Train.Count + forward.Valid.Count + forward.Test.Count);
        Assert.InRange(forward.Test.Count, 150, 250);
        Assert.InRange(forward.Valid.Count, 150, 250);
    }

    [Fact]
    public void Changing_the_validation_share_never_moves_a_test_example()
    {
        var words = Enumerable.Range(0, 1000).Select(i => $"w{i}").ToList();

        var narrow = HashSplit.Split(words, w => w, validFraction: 0.05, testFraction: 0.1);
        var wide = HashSplit.Split(words, w => w, validFraction: 0.3, testFraction: 0.1);

        Assert.Equal(narrow.Test, wide.Test);
        Assert.True(wide.Valid.Count > narrow.Valid.Count);
    }

    [Fact]
    public void Fractions_that_leave_nothing_to_train_on_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => HashSplit.Assign("x", 0.5, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => HashSplit.Assign("x", -0.1, 0.1));
    }
}
