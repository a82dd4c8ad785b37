using RnnCluster.Common;
using RnnCluster.Data;

namespace RnnCluster.Tests.Data;

public sealed class WindowPlannerTests
{
    [Fact]
    public void Fixed_windows_are_bptt_long_and_the_last_one_is_cut_short()
    {
        var planner = new WindowPlanner(35, randomBptt: false);

        var windows = planner.Epoch(new SeededRandom(1), 100).ToList();

        Assert.Equal([(0, 35), (35, 35), (70, 30)], windows);
        Assert.Equal(1.0, planner.LearningRateScale(30));
    }

    [Fact]
    public void Random_lengths_repeat_for_a_seed_and_stay_within_bounds()
    {
        var planner = new WindowPlanner(35, randomBptt: true);

        var first = planner.Epoch(new SeededRandom(5), 100_000).ToList();
        var again = planner.Epoch(new SeededRandom(5), 100_000).ToList();
        var other = planner.Epoch(new SeededRandom(6), 100_000).ToList();

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        Assert.All(first, w => Assert.InRange(w.Length, 1, 55));
        Assert.All(first.SkipLast(1), w => Assert.InRange(w.Length, 5, 55));
        // Half-length windows (base 17.5) show up about 5% of the time.
        Assert.Contains(first, w => w.Length < 25);
        Assert.Equal(4 / 35.0, planner.LearningRateScale(4));
    }

    [Fact]
    public void Random_lengths_never_exceed_what_remains()
    {
        var planner = new WindowPlanner(35, randomBptt: true);
        var rng = new SeededRandom(2);

        for (var remaining = 1; remaining < 80; remaining++)
        {
            Assert.InRange(planner.NextLength(rng, remaining), 1, remaining);
        }
    }

    [Fact]
    public void The_windows_of_an_epoch_cover_every_target_exactly_once()
    {
        var split = new TokenSplit([.. Enumerable.Range(0, 1003)], [.. Enumerable.Range(0, 1003)]);
        var streams = BatchedStreams.Batchify(split, 4);
        var planner = new WindowPlanner(12, randomBptt: true);
        var seen = new int[1000];

        foreach (var (start, length) in planner.Epoch(new SeededRandom(8), streams.Length))
        {
            var inputs = new long[length * 4];
            var targets = new long[length * 4];
            streams.CopyWindow(start, length, 0, 4, inputs, targets);
            foreach (var target in targets)
            {
                seen[target]++;
            }
        }

        Assert.All(seen, count => Assert.Equal(1, count));
    }
}
