using RnnCluster.Training.Parallel;

namespace RnnCluster.Tests.Parallel;

/// <summary>Stream shares that follow measured worker speed (heterogeneous workers).</summary>
public sealed class ShardPlanWeightedTests
{
    [Fact]
    public void A_worker_three_times_as_fast_gets_three_times_the_spare_streams_and_every_worker_keeps_one()
    {
        var plan = ShardPlan.Weighted(20, [0, 1, 2], [3.0, 1.0, 1.0]);

        Assert.Equal([(0, 0, 11), (1, 11, 5), (2, 16, 4)], plan.Select(s => (s.WorkerIndex, s.FirstStream, s.StreamCount)));
        Assert.Equal(20, plan.Sum(s => s.StreamCount));
    }

    [Fact]
    public void Equal_speeds_give_the_equal_plan_and_a_very_slow_worker_still_gets_one_stream()
    {
        Assert.Equal(ShardPlan.Plan(10, [0, 1]), ShardPlan.Weighted(10, [0, 1], [2.0, 2.0]));
        var plan = ShardPlan.Weighted(8, [4, 7], [1000.0, 1.0]);
        Assert.Equal([7, 1], plan.Select(s => s.StreamCount));
    }

    [Fact]
    public void Speeds_that_are_missing_zero_or_not_finite_are_refused()
    {
        Assert.Throws<ArgumentException>(() => ShardPlan.Weighted(8, [0, 1], [1.0]));
        Assert.Throws<ArgumentException>(() => ShardPlan.Weighted(8, [0, 1], [1.0, 0.0]));
        Assert.Throws<ArgumentException>(() => ShardPlan.Weighted(8, [0, 1], [1.0, double.NaN]));
    }

    [Fact]
    public async Task A_new_generation_plans_by_measured_speed_once_the_fastest_is_clearly_faster()
    {
        using var run = new SpecLoop();
        run.Loop.Start();
        var protocol = new StepProtocol(run.Loop.StreamCount) { BalanceStreams = true };
        protocol.Join(0);
        protocol.Join(1);
        protocol.TakeJoiners();
        var step = await run.Loop.NextStepAsync(CancellationToken.None);
        var commands = protocol.Open(step!, run.Loop.Master.ParameterArray!).Select(c => (ComputeWindow)c.Command).ToList();
        Assert.Equal(commands[0].StreamCount, commands[1].StreamCount);

        // Worker 0 took a quarter of worker 1's time for the same streams.
        foreach (var (c, seconds) in commands.Zip([0.1, 0.4]))
        {
            protocol.Accept(new WindowGradients(c.Step, c.Generation, c.Attempt, c.FirstStream / c.StreamCount, 1, 10, new float[c.Parameters.Length], new float[c.State.Length], ComputeSeconds: seconds));
        }

        protocol.Close(new float[run.Loop.Master.ParameterCount]);
        protocol.Regenerate();

        Assert.True(protocol.Plan[0].StreamCount > 2 * protocol.Plan[1].StreamCount, $"plan {string.Join(" ", protocol.Plan)}");
        Assert.Equal(run.Loop.StreamCount, protocol.Plan.Sum(s => s.StreamCount));
    }
}
