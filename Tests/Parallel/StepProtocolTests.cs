using RnnCluster.Data;
using RnnCluster.Training;
using RnnCluster.Training.Parallel;

namespace RnnCluster.Tests.Parallel;

/// <summary>The coordinator's step bookkeeping, without actors.</summary>
public sealed class StepProtocolTests
{
    [Fact]
    public async Task A_step_completes_when_every_worker_of_the_plan_answered_once_whatever_the_arrival_order()
    {
        using var run = new SpecLoop();
        var (protocol, commands) = await OpenAsync(run, 0, 1, 2, 3);

        Assert.Equal(4, commands.Count);
        Assert.Equal(ReplyVerdict.Accepted, protocol.Accept(Reply(commands[2], 3f)));
        Assert.Equal(ReplyVerdict.Accepted, protocol.Accept(Reply(commands[0], 1f)));
        Assert.Equal(ReplyVerdict.Accepted, protocol.Accept(Reply(commands[3], 4f)));
        Assert.Equal(ReplyVerdict.StepComplete, protocol.Accept(Reply(commands[1], 2f)));

        var gradient = new float[run.Loop.Master.ParameterCount];
        var closed = protocol.Close(gradient);
        Assert.All(gradient, g => Assert.Equal(10f, g));
        Assert.Equal(4 * 10, closed.Tokens);
        Assert.Null(protocol.OpenStep);
    }

    [Fact]
    public async Task Replies_of_another_step_or_generation_are_stale_and_a_second_reply_to_a_retried_shard_is_a_duplicate()
    {
        using var run = new SpecLoop();
        var (protocol, commands) = await OpenAsync(run, 0, 1);
        var first = commands[0];

        Assert.Equal(ReplyVerdict.Stale, protocol.Accept(Reply(first, 1f) with { Step = first.Step + 1 }));
        Assert.Equal(ReplyVerdict.Stale, protocol.Accept(Reply(first, 1f) with { Generation = first.Generation - 1 }));
        var retry = (ComputeWindow)protocol.Retry(0)!;
        Assert.Equal(first.Attempt + 1, retry.Attempt);
        // Either attempt computes the same contribution: the first to arrive counts.
        Assert.Equal(ReplyVerdict.Accepted, protocol.Accept(Reply(first, 1f)));
        Assert.Equal(ReplyVerdict.Duplicate, protocol.Accept(Reply(retry, 1f)));
        Assert.Null(protocol.Retry(0));
    }

    [Fact]
    public async Task A_lost_worker_starts_a_new_generation_whose_plan_gives_the_survivors_every_stream_and_old_replies_no_longer_count()
    {
        using var run = new SpecLoop();
        var (protocol, commands) = await OpenAsync(run, 0, 1);
        Assert.Equal(ReplyVerdict.Accepted, protocol.Accept(Reply(commands[0], 1f)));

        Assert.True(protocol.Remove(1));
        Assert.Equal(2, protocol.Generation);
        var again = protocol.Redispatch();

        var survivor = (ComputeWindow)again.Single().Command;
        Assert.Equal((0, run.Loop.StreamCount), (survivor.FirstStream, survivor.StreamCount));
        Assert.Equal(ReplyVerdict.Stale, protocol.Accept(Reply(commands[1], 1f)));
        Assert.Equal(ReplyVerdict.StepComplete, protocol.Accept(Reply(survivor, 1f)));
    }

    [Fact]
    public async Task Workers_that_join_wait_for_the_step_boundary()
    {
        using var run = new SpecLoop();
        var (protocol, commands) = await OpenAsync(run, 0);

        protocol.Join(1);
        Assert.Equal(new[] { 0 }, protocol.Workers);
        Assert.Equal(ReplyVerdict.StepComplete, protocol.Accept(Reply(commands[0], 1f)));
        protocol.Close(new float[run.Loop.Master.ParameterCount]);

        Assert.True(protocol.TakeJoiners());
        Assert.Equal(new[] { 0, 1 }, protocol.Workers);
        Assert.Equal(2, protocol.Plan.Count);
    }

    [Fact]
    public async Task Closing_without_a_dropped_worker_keeps_its_streams_states_and_counts_only_what_came()
    {
        using var run = new SpecLoop();
        var (protocol, commands) = await OpenAsync(run, 0, 1);
        var window = (TrainingWindow)protocol.OpenStep!;
        window.NextStateSlice(commands[1].FirstStream, commands[1].StreamCount).Fill(9f);
        protocol.Accept(Reply(commands[0], 1f));

        Assert.Equal(new[] { 1 }, protocol.Missing);
        var closed = protocol.Close(new float[run.Loop.Master.ParameterCount]);

        Assert.Equal(10, closed.Tokens);
        Assert.Equal(
            window.StateSlice(commands[1].FirstStream, commands[1].StreamCount).ToArray(),
            window.NextStateSlice(commands[1].FirstStream, commands[1].StreamCount).ToArray());
    }

    private static async Task<(StepProtocol Protocol, List<ComputeWindow> Commands)> OpenAsync(SpecLoop run, params int[] workers)
    {
        run.Loop.Start();
        var step = await run.Loop.NextStepAsync(CancellationToken.None);
        var protocol = new StepProtocol(run.Loop.StreamCount);
        foreach (var w in workers)
        {
            protocol.Join(w);
        }

        protocol.TakeJoiners();
        var commands = protocol.Open(step!, run.Loop.Master.ParameterArray!).Select(c => (ComputeWindow)c.Command).ToList();
        return (protocol, commands);
    }

    /// <summary>A reply to <paramref name="c"/> whose every gradient is <paramref name="value"/>, with 10 tokens.</summary>
    private static WindowGradients Reply(ComputeWindow c, float value)
    {
        var gradients = new float[c.Parameters.Length];
        Array.Fill(gradients, value);
        return new WindowGradients(c.Step, c.Generation, c.Attempt, WorkerOf(c), 1.0, 10, gradients, new float[c.State.Length]);
    }

    // Shards are contiguous in worker order, and the specs use workers 0..n-1 with equal-size shards.
    private static int WorkerOf(ComputeWindow c) => c.FirstStream / c.StreamCount;
}
