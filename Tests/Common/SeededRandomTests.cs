using RnnCluster.Common;

namespace RnnCluster.Tests.Common;

public sealed class SeededRandomTests
{
    [Fact]
    public void The_same_seed_gives_the_same_sequence_and_another_seed_does_not()
    {
        var a = new SeededRandom(42);
        var b = new SeededRandom(42);
        var c = new SeededRandom(43);
        var sa = Enumerable.Range(0, 100).Select(_ => a.NextUInt64()).ToArray();
        Assert.Equal(sa, Enumerable.Range(0, 100).Select(_ => b.NextUInt64()).ToArray());
        Assert.NotEqual(sa, Enumerable.Range(0, 100).Select(_ => c.NextUInt64()).ToArray());
    }

    [Fact]
    public void A_restored_state_continues_exactly_where_the_saved_one_stopped()
    {
        var original = new SeededRandom(7);
        for (var i = 0; i < 13; i++)
        {
            original.NextDouble();
        }

        var restored = SeededRandom.FromState(original.GetState());
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(original.NextUInt64(), restored.NextUInt64());
        }
    }

    [Fact]
    public void Integers_stay_in_range_and_cover_it()
    {
        var rng = new SeededRandom(1);
        var seen = new bool[7];
        for (var i = 0; i < 1000; i++)
        {
            var v = rng.NextInt(3, 10);
            Assert.InRange(v, 3, 9);
            seen[v - 3] = true;
        }

        Assert.All(seen, Assert.True);
        Assert.InRange(rng.NextDouble(), 0.0, 1.0 - double.Epsilon);
    }

    [Fact]
    public void An_invalid_state_is_refused()
    {
        Assert.Throws<ArgumentException>(() => SeededRandom.FromState([1, 2, 3]));
        Assert.Throws<ArgumentException>(() => SeededRandom.FromState([0, 0, 0, 0]));
    }
}
